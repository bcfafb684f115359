import { ConduitError } from '@conduit/shared';
import type { AccountRepository } from '../redis/accounts.js';
import type { DeviceRepository } from '../redis/devices.js';
import { hashPassword, verifyPassword } from './password.js';
import type { SessionTokens } from './session-tokens.js';

/**
 * Dev-mode registration and login. Login costs one scrypt whether or not the identity exists and
 * fails with the same error either way, so responses reveal nothing about which accounts exist.
 */
export class DevAccounts {
  private decoyHash: Promise<string> | undefined;

  constructor(
    private readonly accounts: AccountRepository,
    private readonly devices: DeviceRepository,
    private readonly sessions: SessionTokens,
  ) {}

  async register(identity: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    if (!(await this.accounts.create(identity, hash))) throw new ConduitError('IDENTITY_TAKEN');
  }

  /**
   * A session bound to `deviceId`. A revoked device is refused only after the password checked
   * out, so nobody learns which device ids were revoked without it.
   */
  async login(identity: string, password: string, deviceId: string): Promise<{ token: string; expiresAt: Date }> {
    await this.verify(identity, password);
    if (await this.devices.isRevoked(identity, deviceId)) throw new ConduitError('DEVICE_REVOKED');
    return this.sessions.issue(identity, deviceId);
  }

  /** Sessions issued earlier stay valid until they expire (12 h) or their device is revoked. */
  async changePassword(identity: string, password: string, newPassword: string): Promise<void> {
    await this.verify(identity, password);
    await this.accounts.setPasswordHash(identity, await hashPassword(newPassword));
  }

  private async verify(identity: string, password: string): Promise<void> {
    const stored = await this.accounts.passwordHash(identity);
    // The decoy is hashed with the same (default) parameters, so unknown identities cost the same.
    this.decoyHash ??= hashPassword('conduit-decoy-password');
    const ok = await verifyPassword(password, stored ?? (await this.decoyHash));
    if (!ok || stored === null) throw new ConduitError('INVALID_CREDENTIALS');
  }
}
