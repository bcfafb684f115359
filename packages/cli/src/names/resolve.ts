import { ConduitError, GroupId } from '@conduit/shared';
import type { GroupView } from '@conduit/shared';
import type { NamedDevice, OpenedName } from '@conduit/client';

/**
 * Turns a CLI argument that names a group or a device into its id (docs/cli.md "Names"). An id is
 * taken as is; otherwise the argument must equal, ignoring case, the verified name of exactly one
 * of the caller's groups (devices): several is NAME_AMBIGUOUS listing their ids, none is the
 * usual not-found error. Names that do not verify never match, so a forged name cannot redirect
 * a command.
 */

export interface Candidate {
  id: string;
  name?: string;
}

export type NameKind = 'group' | 'device';

/** The part of ConduitClient the resolver needs. */
export interface NameSource {
  listGroups(): Promise<GroupView[]>;
  groupName(view: GroupView): Promise<OpenedName>;
  listDevices(): Promise<NamedDevice[]>;
}

const fold = (s: string) => s.trim().normalize('NFC').toLowerCase();

export function pickByName(arg: string, candidates: readonly Candidate[], kind: NameKind): string {
  if (candidates.some((c) => c.id === arg)) return arg;
  const wanted = fold(arg);
  const matches = candidates.filter((c) => c.name !== undefined && fold(c.name) === wanted);
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length > 1) {
    const ids = matches.map((c) => c.id);
    throw new ConduitError(
      'NAME_AMBIGUOUS',
      `${matches.length} of your ${kind}s are named ${JSON.stringify(arg)}: ${ids.join(', ')}. Name one by its id.`,
      { candidates: ids },
    );
  }
  const list = kind === 'group' ? '`conduit group ls`' : '`conduit device ls`';
  throw new ConduitError(
    kind === 'group' ? 'GROUP_NOT_FOUND' : 'DEVICE_NOT_FOUND',
    `No ${kind} of yours has the id or name ${JSON.stringify(arg)} (${list} lists them).`,
  );
}

/** A group id: the argument if it is one (no lookup), else the group of that verified name. */
export async function resolveGroup(source: NameSource, arg: string): Promise<string> {
  if (GroupId.safeParse(arg).success) return arg;
  const groups = await source.listGroups();
  const candidates = await Promise.all(
    groups.map(async (v) => ({ id: v.groupId, name: (await source.groupName(v)).name })),
  );
  return pickByName(arg, candidates, 'group');
}

/** A device id of the caller's: by id, or by verified name. */
export async function resolveDevice(source: NameSource, arg: string): Promise<string> {
  const devices = await source.listDevices();
  return pickByName(
    arg,
    devices.map((d) => ({ id: d.deviceId, name: d.name })),
    'device',
  );
}
