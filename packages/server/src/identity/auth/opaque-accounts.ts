import { ConduitError } from '@conduit/shared';
import type { AccountRepository } from '../../adapters/redis/accounts.js';
import type { AuthFlows } from '../../adapters/redis/auth-flows.js';
import type { DeviceRepository } from '../../adapters/redis/devices.js';
import type { SessionState } from '../../adapters/redis/sessions.js';
import type { NamePolicy } from './names.js';
import type { OpaqueServer } from './opaque.js';
import { verifyPassword } from './password.js';
import type { DevSession, DevSessions } from './dev-sessions.js';

/** A login state lives long enough for the client's key stretching (about 0.3 s), not for a dictionary. */
const LOGIN_STATE_TTL_SECONDS = 60;
/** Covers re-encrypting the key backup between a re-registration's start and finish. */
const REREGISTER_TTL_SECONDS = 300;

/**
 * Dev-mode accounts over OPAQUE: the server stores a registration record per identity and never
 * receives the password or anything computed from it alone (docs/identity.md).
 */
export class OpaqueAccounts {
  constructor(
    private readonly server: OpaqueServer,
    private readonly accounts: AccountRepository,
    private readonly flows: AuthFlows,
    private readonly devices: DeviceRepository,
    private readonly sessions: DevSessions,
    private readonly sessionState: SessionState,
    private readonly names: NamePolicy,
  ) {}

  async registerStart(identity: string, registrationRequest: string, code: string | undefined): Promise<string> {
    await this.names.checkRegistration(identity, code);
    const { record, legacy } = await this.accounts.credentials(identity);
    if (record !== null || legacy) throw new ConduitError('IDENTITY_TAKEN');
    return this.server.registrationResponse(identity, registrationRequest);
  }

  async registerFinish(identity: string, registrationRecord: string, code: string | undefined): Promise<void> {
    await this.names.consumeRegistration(identity, code);
    if (!(await this.accounts.createOpaque(identity, registrationRecord))) throw new ConduitError('IDENTITY_TAKEN');
  }

  /**
   * Known and unknown identities take the same path (see OpaqueServer.startLogin). An identity
   * with only a legacy hash is told so: it must migrate (documented existence signal).
   */
  async loginStart(
    identity: string,
    startLoginRequest: string,
  ): Promise<{ loginId: string; loginResponse: string } | { legacy: true }> {
    const { record, legacy } = await this.accounts.credentials(identity);
    if (legacy) return { legacy: true };
    const { state, response } = this.server.startLogin(identity, record, startLoginRequest);
    const loginId = await this.flows.put({ kind: 'login', identity, state }, LOGIN_STATE_TTL_SECONDS);
    return { loginId, loginResponse: response };
  }

  /**
   * A session bound to `deviceId`. Lock and revocation are told only after the proof checked
   * out, so neither is learnt without the password.
   */
  async loginFinish(
    loginId: string,
    finishLoginRequest: string,
    deviceId: string,
  ): Promise<DevSession & { identity: string }> {
    const identity = await this.prove(loginId, finishLoginRequest);
    const { epoch, deviceEpoch, locked } = await this.sessionState.current(identity, deviceId);
    if (locked) throw new ConduitError('ACCOUNT_LOCKED');
    if (await this.devices.isRevoked(identity, deviceId)) throw new ConduitError('DEVICE_REVOKED');
    return { identity, ...(await this.sessions.open(identity, deviceId, { epoch, deviceEpoch })) };
  }

  /** A password change starts with a fresh login proof; the answer is the new password's registration step. */
  async passwordStart(loginId: string, finishLoginRequest: string, registrationRequest: string) {
    const identity = await this.prove(loginId, finishLoginRequest);
    if (await this.sessionState.isLocked(identity)) throw new ConduitError('ACCOUNT_LOCKED');
    return this.reregisterTicket(identity, 'password', registrationRequest);
  }

  /**
   * A fresh login proof for an action a session alone must not do (deleting the identity): the
   * identity the proof is for, or INVALID_CREDENTIALS. Opens no session.
   */
  reauthenticate(loginId: string, finishLoginRequest: string): Promise<string> {
    return this.prove(loginId, finishLoginRequest);
  }

  /** Migration of a pre-OPAQUE account: the legacy login secret proves it, once. */
  async migrateStart(identity: string, legacyPassword: string, registrationRequest: string) {
    const hash = await this.accounts.passwordHash(identity);
    const ok = hash !== null && (await verifyPassword(legacyPassword, hash));
    if (!ok) throw new ConduitError('INVALID_CREDENTIALS');
    if (await this.sessionState.isLocked(identity)) throw new ConduitError('ACCOUNT_LOCKED');
    return this.reregisterTicket(identity, 'migrate', registrationRequest);
  }

  /** Stores the new record (dropping any legacy hash) and ends every session of the identity. */
  async reregister(ticket: string, registrationRecord: string): Promise<void> {
    const flow = await this.flows.take(ticket, 'reregister');
    if (!flow) throw new ConduitError('INVALID_CREDENTIALS', 'The password change expired or was used; start again.');
    await this.accounts.setOpaque(flow.identity, registrationRecord);
    await this.sessionState.revokeAll(flow.identity);
  }

  private async reregisterTicket(identity: string, purpose: 'password' | 'migrate', registrationRequest: string) {
    const registrationResponse = this.server.registrationResponse(identity, registrationRequest);
    const ticket = await this.flows.put({ kind: 'reregister', identity, purpose }, REREGISTER_TTL_SECONDS);
    return { ticket, registrationResponse };
  }

  /** The identity whose login state `loginId` is, if the proof matches it; else INVALID_CREDENTIALS. */
  private async prove(loginId: string, finishLoginRequest: string): Promise<string> {
    const flow = await this.flows.take(loginId, 'login');
    if (!flow || !this.server.finishLogin(flow.state, finishLoginRequest))
      throw new ConduitError('INVALID_CREDENTIALS');
    return flow.identity;
  }
}
