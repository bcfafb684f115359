import type { EThree } from '@virgilsecurity/e3kit-node';
import { ConduitError } from '@conduit/shared';
import type { DeviceId, DeviceResponse, GroupId, GroupView } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import type { GroupKeys } from '../virgil/group-keys.js';
import { openName, sealName, type NameCipher, type OpenedName } from './sealed-name.js';

/**
 * Group and device names on top of the ciphers that protect them (docs/api.md "Names"):
 * - a group's name is sealed with the group key's latest epoch (a removed member cannot read a
 *   later rename) and signed by the owner; members open it only with the owner's pinned card;
 * - a device's name is metadata about one's own devices: sealed by the identity for itself.
 */

/** A device of this identity with its name, when it opens. */
export type NamedDevice = DeviceResponse & OpenedName;

export async function setGroupName(keys: GroupKeys, api: HttpClient, groupId: GroupId, name: string): Promise<void> {
  const sealedName = await sealName('group', groupId, name, await keys.encryptorFor(groupId));
  await api.setGroupName(groupId, { sealedName });
}

export async function groupNameOf(keys: GroupKeys, view: GroupView): Promise<OpenedName> {
  let decrypt: NameCipher;
  try {
    // Verifies against the owner's pinned card (GROUP_OWNER_CHANGED if the server names another).
    decrypt = await keys.decryptorFor(view.groupId, view.owner);
  } catch (err) {
    const code = err instanceof ConduitError ? err.code : 'INTERNAL';
    return { unverified: `the group key could not be loaded (${code})` };
  }
  return openName('group', view.groupId, view.sealedName, decrypt, `the owner ${view.owner}`);
}

export async function setDeviceName(ethree: EThree, api: HttpClient, deviceId: DeviceId, name: string): Promise<void> {
  const sealedName = await sealName('device', deviceId, name, async (p) => asBuffer(await ethree.authEncrypt(p)));
  await api.setDeviceName(deviceId, { sealedName });
}

/** Opens every named device's name; the key is needed only when one is named. */
export async function namedDevices(devices: DeviceResponse[], ethree: () => Promise<EThree>): Promise<NamedDevice[]> {
  if (devices.every((d) => d.sealedName === undefined)) return devices;
  const e3 = await ethree();
  const decrypt: NameCipher = async (sealed) => asBuffer(await e3.authDecrypt(sealed));
  return Promise.all(
    devices.map(async (d) => ({ ...d, ...(await openName('device', d.deviceId, d.sealedName, decrypt, 'you')) })),
  );
}

function asBuffer(data: string | Buffer): Buffer {
  if (typeof data === 'string') throw new ConduitError('INTERNAL', 'Unexpected string from E3Kit.');
  return data;
}
