import { hostname } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { DisplayName } from '@conduit/shared';
import type { GroupView } from '@conduit/shared';
import type { ConduitClient } from '../conduit-client.js';
import type { NamedDevice } from '../names/names.js';
import { parseName, type OpenedName } from '../names/sealed-name.js';
import type { GlobalOptions } from './config.js';
import { resolveDevice, resolveGroup } from './resolve.js';

type WithClient = (cmd: Command, fn: (client: ConduitClient, g: GlobalOptions) => Promise<void>) => Promise<void>;
type Output = (g: GlobalOptions, value: unknown, lines: string[]) => void;

/** Commander parser of `--name` / `--device-name`: a bad name is a usage error before anything runs. */
export function nameOption(value: string): string {
  try {
    return parseName(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : 'invalid name.');
  }
}

/** A group as the CLI shows it: the view and its name (or why its sealed name is not shown). */
export type ShownGroup = GroupView & OpenedName;

/** `conduit group rename <group> <name>` and `conduit device rename <device> <name>`. */
export function addNameCommands(group: Command, device: Command, withClient: WithClient, output: Output): void {
  group
    .command('rename')
    .argument('<group>', 'group id or name')
    .argument('<name>', 'the new name (sealed for the members; only they can read it)')
    .description('name or rename a group (owner only)')
    .action(async (arg: string, name: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const view = await client.renameGroup(await resolveGroup(client, arg), name);
        const shown = await showGroup(client, view);
        output(g, shown, groupLines(shown));
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

/**
 * Names this device after login or registration: `--device-name`, or else the host name when it
 * has no name yet (an unreadable old name is replaced too).
 */
export async function nameThisDevice(client: ConduitClient, name: string | undefined): Promise<void> {
  if (name === undefined) {
    const self = (await client.listDevices()).find((d) => d.deviceId === client.deviceId);
    if (self?.name !== undefined) return;
  }
  // A host name that is no valid name (empty, or shaped like an id) leaves the device unnamed.
  const chosen = name ?? DisplayName.safeParse(hostname()).data;
  if (chosen !== undefined) await client.renameDevice(client.deviceId, chosen);
}

export async function showGroup(client: ConduitClient, view: GroupView): Promise<ShownGroup> {
  return { ...view, ...(await client.groupName(view)) };
}

export function groupLines(v: ShownGroup): string[] {
  return [
    `group ${v.groupId}`,
    `  name    ${nameText(v)}`,
    `  owner   ${v.owner}`,
    `  members ${v.members.join(', ') || '(none)'}`,
  ];
}

export function groupListLine(v: ShownGroup): string {
  return `${v.groupId}  ${nameText(v)}  owner ${v.owner}  ${v.members.length + 1} participants`;
}

export function deviceLines(devices: NamedDevice[], self: string): string[] {
  if (devices.length === 0) return ['no devices'];
  return devices.map(
    (d) => `${d.deviceId}  ${nameText(d)}  registered ${d.createdAt}${d.deviceId === self ? '  (this device)' : ''}`,
  );
}

/** The name quoted, or what stands in for it: never a name that did not verify. */
function nameText(n: OpenedName): string {
  if (n.name !== undefined) return JSON.stringify(n.name);
  return n.unverified === undefined ? '(no name)' : `(name not shown: ${n.unverified})`;
}
