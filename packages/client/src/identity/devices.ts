import { DeviceId } from '@conduit/shared';
import { namedDevices, setDeviceName, type NamedDevice } from '../names/names.js';
import { parseId } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';

/** This identity's devices (endpoints): listing, naming, revoking. */
export class Devices {
  constructor(private readonly session: ClientSession) {}

  async list(): Promise<NamedDevice[]> {
    return namedDevices((await this.session.api.listDevices()).devices, () => this.session.ethree());
  }

  async rename(deviceId: string, name: string): Promise<void> {
    await setDeviceName(await this.session.ethree(), this.session.api, parseId(DeviceId, deviceId, 'device id'), name);
  }

  /** Revoking this very device also forgets its session. */
  async revoke(deviceId: string): Promise<void> {
    const id = parseId(DeviceId, deviceId, 'device id');
    await this.session.api.revokeDevice(id);
    if (id === this.session.state.deviceId) await this.session.sessions.forget();
  }
}
