import { ConduitError } from '@conduit/shared';
import type { Endpoint, GroupId, MemberDevice } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';

/**
 * Checks the device an envelope names against the sender's devices as the server lists them
 * (with revocation times). Cached per receive session: one lookup per sender, and one more when
 * a device is not found (it may be newer than the cached list).
 */
export class SenderDevices {
  private readonly cache = new Map<string, Promise<MemberDevice[]>>();

  constructor(private readonly api: Pick<HttpClient, 'memberDevices'>) {}

  /**
   * SENDER_DEVICE_UNKNOWN when the device is not one of the sender's, SENDER_DEVICE_REVOKED when
   * it was revoked at or before `sentAt` (the pointer's createdAt).
   */
  async check(groupId: GroupId, sender: Endpoint, sentAt: string): Promise<void> {
    let device = (await this.devicesOf(groupId, sender.identity, false)).find((d) => d.deviceId === sender.deviceId);
    device ??= (await this.devicesOf(groupId, sender.identity, true)).find((d) => d.deviceId === sender.deviceId);
    if (!device) throw new ConduitError('SENDER_DEVICE_UNKNOWN');
    if (device.revokedAt !== undefined && Date.parse(device.revokedAt) <= Date.parse(sentAt)) {
      throw new ConduitError('SENDER_DEVICE_REVOKED');
    }
  }

  private devicesOf(groupId: GroupId, identity: string, refresh: boolean): Promise<MemberDevice[]> {
    const key = `${groupId}/${identity}`;
    let list = refresh ? undefined : this.cache.get(key);
    if (!list) {
      list = this.api.memberDevices(groupId, identity).then(
        (r) => r.devices,
        (err: unknown) => {
          // The claimed sender is not (or no longer) a member: none of its devices can send here.
          if (err instanceof ConduitError && err.code === 'NOT_FOUND') return [];
          throw err;
        },
      );
      list.catch(() => this.cache.delete(key));
      this.cache.set(key, list);
    }
    return list;
  }
}
