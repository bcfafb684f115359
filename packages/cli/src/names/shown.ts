import { hostname } from 'node:os';
import type { ConduitClient, NamedDevice, OpenedName } from '@conduit/client';
import { DisplayName } from '@conduit/shared';
import type { GroupView } from '@conduit/shared';

/** A group as the CLI shows it: the view and its name (or why its sealed name is not shown). */
export type ShownGroup = GroupView & OpenedName;

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
