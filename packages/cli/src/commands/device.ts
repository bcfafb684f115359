import type { Command } from 'commander';
import { resolveDevice } from '../names/resolve.js';
import { deviceLines } from '../names/shown.js';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';

/** `conduit device ls | revoke | rename`: the devices (endpoints) of this identity. */
export function addDeviceCommands(program: Command): void {
  const device = program.command('device').description('devices (endpoints) of this identity');
  device
    .command('ls')
    .description('list the devices registered for this identity')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const devices = await client.listDevices();
        output(g, { devices }, deviceLines(devices, client.deviceId));
      }),
    );
  device
    .command('revoke')
    .argument('<device>', 'device id or name')
    .description('revoke a device for good: its sessions are refused at once, its pending acknowledgements dropped')
    .action(async (arg: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const deviceId = await resolveDevice(client, arg);
        await client.revokeDevice(deviceId);
        output(g, { deviceId, revoked: true }, [`device ${deviceId} revoked`]);
      }),
    );
  device
    .command('rename')
    .argument('<device>', 'device id or name')
    .argument('<name>', 'the new name (sealed for you only)')
    .description('name or rename one of your devices')
    .action(async (arg: string, name: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const deviceId = await resolveDevice(client, arg);
        await client.renameDevice(deviceId, name);
        output(g, { deviceId, name: name.trim() }, [`device ${deviceId} renamed to ${JSON.stringify(name.trim())}`]);
      }),
    );
}
