import { ConduitError } from '@conduit/shared';
import type { AccountRepository } from '../../adapters/redis/accounts.js';
import type { DeviceRepository } from '../../adapters/redis/devices.js';
import type { SessionState } from '../../adapters/redis/sessions.js';
import type { NamePolicy } from './names.js';
import { hashPassword, verifyPassword } from './password.js';
import type { DevSession, DevSessions } from './dev-sessions.js';

/**
 * Pre-OPAQUE accounts (a scrypt hash of the client's fast "login half"). Login stays for accounts
 * not migrated yet and refuses migrated ones (they have no hash left); register and password
 * change are mounted only when the configuration asks for them (tests). Login costs one scrypt
 * whether or not the identity exists and fails with the same error either way.
 */
export class DevAccounts {
  private decoyHash: Promise<string> | undefined;

  constructor(
    private readonly accounts: AccountRepository,
    private readonly devices: DeviceRepository,
    private readonly sessions: DevSessions,
    private readonly sessionState: SessionState,
    private readonly names: NamePolicy,
  ) {}

  async register(identity: string, password: string, registrationCode?: string): Promise<void> {
    await this.names.consumeRegistration(identity, registrationCode);
    const hash = await hashPassword(password);
    if (!(await this.accounts.create(identity, hash))) throw new ConduitError('IDENTITY_TAKEN');
  }

  /**
   * A session bound to `deviceId`. A revoked device or a lock is refused only after the password
   * checked out, so nobody learns either without it.
   */
  async login(identity: string, password: string, deviceId: string): Promise<DevSession> {
    await this.verify(identity, password);
    const { epoch, deviceEpoch, locked } = await this.sessionState.current(identity, deviceId);
    if (locked) throw new ConduitError('ACCOUNT_LOCKED');
    if (await this.devices.isRevoked(identity, deviceId)) throw new ConduitError('DEVICE_REVOKED');
    return this.sessions.open(identity, deviceId, { epoch, deviceEpoch });
  }

  /** Ends every session of the identity, as an OPAQUE password change does. */
  async changePassword(identity: string, password: string, newPassword: string): Promise<void> {
    await this.verify(identity, password);
    await this.accounts.setPasswordHash(identity, await hashPassword(newPassword));
    await this.sessionState.revokeAll(identity);
  }

  private async verify(identity: string, password: string): Promise<void> {
    const stored = await this.accounts.passwordHash(identity);
    // The decoy is hashed with the same (default) parameters, so unknown identities cost the same.
    this.decoyHash ??= hashPassword('conduit-decoy-password');
    const ok = await verifyPassword(password, stored ?? (await this.decoyHash));
    if (!ok || stored === null) throw new ConduitError('INVALID_CREDENTIALS');
  }
}
