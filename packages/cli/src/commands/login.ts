import type { Command } from 'commander';
import { nameThisDevice } from '../names/shown.js';
import { withClient } from '../program/client.js';
import { nameOption } from '../program/options.js';
import { output } from '../program/output.js';
import { readPassword } from '../prompt/password.js';
import { oidcSettings, type GlobalOptions } from '../settings/config.js';
import { loginWithProvider } from './login-provider.js';

/** `conduit login [--oidc] [--device-name <name>]`. */
export function addLoginCommand(program: Command): void {
  program
    .command('login')
    .description('start a session on this device (restores the private key from its backup if needed)')
    .option(
      '--device-name <name>',
      'name of this device, sealed for you (default: the host name if unnamed)',
      nameOption,
    )
    .option(
      '--oidc',
      'sign in at the identity provider (CONDUIT_OIDC_ISSUER) with a device code (the default when it is set)',
    )
    .action(async (opts: { deviceName?: string; oidc?: boolean }, cmd: Command) => {
      if (opts.oidc || oidcSettings(cmd.optsWithGlobals<GlobalOptions>())) {
        return loginWithProvider(cmd, opts.deviceName);
      }
      return withClient(cmd, async (client, g) => {
        await client.login(await readPassword({ confirm: false }));
        await nameThisDevice(client, opts.deviceName);
        output(g, { identity: client.identity, deviceId: client.deviceId }, [
          `logged in as ${client.identity} (device ${client.deviceId})`,
        ]);
      });
    });
}
