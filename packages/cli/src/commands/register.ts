import type { Command } from 'commander';
import { nameThisDevice } from '../names/shown.js';
import { withClient } from '../program/client.js';
import { nameOption } from '../program/options.js';
import { output } from '../program/output.js';
import { readPassword } from '../prompt/password.js';

/** `conduit register [--code <code>] [--device-name <name>]`. */
export function addRegisterCommand(program: Command): void {
  program
    .command('register')
    .description('create the account, register this device and a new key pair (backed up under the password)')
    .option('--code <code>', "a reserved name's one-time registration code (from the operator)")
    .option('--device-name <name>', 'name of this device, sealed for you (default: the host name)', nameOption)
    .action(async (opts: { code?: string; deviceName?: string }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.register(await readPassword({ confirm: true }), opts.code);
        await nameThisDevice(client, opts.deviceName);
        output(g, { identity: client.identity, deviceId: client.deviceId }, [
          `registered ${client.identity} (device ${client.deviceId})`,
        ]);
      }),
    );
}
