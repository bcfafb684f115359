import { ConduitError } from '@conduit/shared';
import { removeDevice, type DepartureDeps } from '../delivery/departures.js';

/**
 * An identity's devices: enrollment of the calling device, sealed names, and revocation, which
 * drops the device's pending acknowledgements everywhere (delivery/departures.ts).
 */
export class DeviceService {
  constructor(private readonly deps: DepartureDeps) {}

  list(identity: string): ReturnType<DepartureDeps['devices']['listNamed']> {
    return this.deps.devices.listNamed(identity);
  }

  /**
   * Enrolls `deviceId` for `identity` (idempotent). A device enrolls only itself: `caller` is the
   * session's device, so a session cannot mint endpoints for other devices.
   */
  async enroll(identity: string, deviceId: string, caller: string): Promise<{ createdAt: string }> {
    if (deviceId !== caller) {
      throw new ConduitError('FORBIDDEN', 'A device can only register itself (the device of the session).');
    }
    const result = await this.deps.devices.register(identity, deviceId, new Date());
    if (!result.ok) {
      // REVOKED: revoked since `authenticate` looked; the script checks the tombstone atomically.
      if (result.reason === 'REVOKED') throw new ConduitError('DEVICE_REVOKED');
      throw new ConduitError('FORBIDDEN', 'Device limit reached for this identity.');
    }
    return { createdAt: result.createdAt };
  }

  /** Revokes the device for good (idempotent): its sessions are refused from then on. */
  async revoke(identity: string, deviceId: string): Promise<void> {
    await removeDevice(this.deps, { identity, deviceId });
  }

  /** Names one of the identity's active devices; another identity's device id is simply not found. */
  async rename(identity: string, deviceId: string, sealedName: string): Promise<void> {
    if (!(await this.deps.devices.setName(identity, deviceId, sealedName))) throw new ConduitError('DEVICE_NOT_FOUND');
  }
}
