import { ConduitError } from '@conduit/shared';
import type { IdentityDeletionReport, SessionResponse } from '@conduit/shared';
import * as opaqueAuth from '../auth/opaque-client.js';
import { providerBackupSecret } from '../auth/provider-backup.js';
import { legacyPasswords } from '../auth/passwords.js';
import { reregisterWithBackup } from '../auth/reregister.js';
import type { ClientSession } from '../session/session.js';
import { fromVirgilError, virgil } from '../virgil/errors.js';
import * as lifecycle from './lifecycle.js';

/**
 * What `logout` did: `ended` every session of this device at the server; `provider`: the session
 * is an identity provider's, which only the provider ends; `none`: this device held no live session.
 */
export type LogoutResult = 'ended' | 'provider' | 'none';

/** Refusals meaning this device's session was over already: nothing left to end at the server. */
const ENDED = new Set(['UNAUTHENTICATED', 'REFRESH_TOKEN_REUSED', 'DEVICE_REVOKED']);

/**
 * This identity's account and private key on this device: registration, login, the key store's
 * unlock, the key backup, rotation, password change and unregistration (docs/identity.md).
 */
export class Account {
  constructor(private readonly session: ClientSession) {}

  async register(password: string, registrationCode?: string): Promise<void> {
    await opaqueAuth.registerAccount(this.session.api, this.session.identity, password, registrationCode);
    const backup = await this.startSession(password);
    await this.unlockAfterLogin(password);
    await this.ensurePrivateKey(backup, true);
  }

  async login(password: string): Promise<void> {
    const backup = await this.startSession(password);
    await this.unlockAfterLogin(password);
    await this.ensurePrivateKey(backup, false);
  }

  /**
   * OIDC mode: the bearer is the identity provider's ID token (ConduitClientOptions.idToken). Enrolls
   * this device, opens the key store with the passphrase and restores or creates the private key,
   * whose backup is sealed under a secret derived from the passphrase (docs/identity.md).
   */
  async loginWithProvider(passphrase: string): Promise<void> {
    const { session } = this;
    if (!session.idTokens) {
      throw new ConduitError('CONFIG', 'Signing in through an identity provider needs the idToken option.');
    }
    const backup = await providerBackupSecret(session.platform, passphrase, session.identity);
    await session.api.registerDevice(session.state.deviceId);
    await session.keyStore(passphrase);
    await this.ensurePrivateKey(backup, false);
  }

  async unlock(password: string): Promise<void> {
    await this.session.keyStore(password);
  }

  async restoreKey(password: string): Promise<void> {
    const backup = await this.startSession(password);
    await this.unlockAfterLogin(password);
    await this.session.platform.initPythia();
    await lifecycle.replaceFromBackup(await this.session.ethree(), await this.session.keyStore(), backup);
    this.session.forgetGroupKeys();
  }

  async backupKey(password: string): Promise<'created' | 'exists'> {
    const backup = await this.startSession(password); // proves the password: the backup is never sealed under a typo
    await this.unlockAfterLogin(password);
    await this.session.platform.initPythia();
    return lifecycle.backup(await this.session.ethree(), backup);
  }

  async rotateKey(password: string): Promise<void> {
    const { session } = this;
    const backup = await this.startSession(password);
    await this.unlockAfterLogin(password);
    await session.platform.initPythia();
    try {
      await lifecycle.rotate(await session.ethree(), await session.keyStore(), backup, (t) =>
        session.api.putKeyTransition(t),
      );
    } finally {
      session.forgetGroupKeys();
    }
  }

  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    const { session } = this;
    if (oldPassword === newPassword) throw new ConduitError('VALIDATION_FAILED', 'The new password is the same.');
    await this.startSession(oldPassword).catch(opaqueAuth.explainNoPasswordRoutes);
    await this.unlockAfterLogin(oldPassword);
    await session.platform.initPythia();
    const change = await opaqueAuth.startPasswordChange(session.api, session.identity, oldPassword, newPassword);
    await reregisterWithBackup(await session.ethree(), session.api, change.oldBackup, change, session.log);
    await (await session.keyStore()).rekey(newPassword);
    await this.startSession(newPassword);
  }

  /**
   * Ends this device's sessions at the server, then forgets the stored one. A session the server
   * no longer accepts (expired, ended elsewhere) counts as ended; any other failure (server
   * unreachable) changes nothing, so the token is never dropped locally while it still works.
   */
  async logout(): Promise<LogoutResult> {
    const { api, idTokens } = this.session;
    const sessions = idTokens ?? this.session.sessions;
    let result: LogoutResult = 'none';
    if (sessions.active) {
      try {
        // An expired session is renewed first: its refresh token must end at the server too.
        result = (await api.logout()).ended ? 'ended' : 'provider';
      } catch (err) {
        if (!(err instanceof ConduitError && ENDED.has(err.code))) throw err;
      }
    }
    // The server's logout ended the refresh token too (its device epoch moved).
    await sessions.forget();
    return result;
  }

  /** Revokes the key and this device, closes the session and wipes this identity's local state. */
  async unregister(password: string): Promise<void> {
    const { session } = this;
    await this.startSession(password);
    await this.unlockAfterLogin(password);
    await session.platform.initPythia();
    await lifecycle.unregisterKey(await session.ethree());
    await session.api.revokeDevice(session.state.deviceId);
    await session.close();
    await session.platform.files.removeTree(session.state.dir);
  }

  /**
   * Deletes this identity at the server (docs/lifecycle.md#deleting-an-identity), then wipes its
   * local state. Dev mode proves the password afresh (a stolen session alone cannot do this); OIDC
   * mode needs an ID token from a recent sign-in. The server checks legal holds and owned groups
   * before anything changes, then revokes the cards and resets the key backups with its app key:
   * once the account is gone this device could no longer get a directory token to do it.
   */
  async deleteIdentity(password: string | undefined, opts: { withGroups?: boolean }): Promise<IdentityDeletionReport> {
    const { session } = this;
    const withGroups = opts.withGroups ? { withGroups: true } : {};
    let report: IdentityDeletionReport;
    if (session.idTokens) {
      report = await session.api.deleteIdentity(withGroups);
    } else {
      if (password === undefined)
        throw new ConduitError('VALIDATION_FAILED', 'Deleting the identity needs its password.');
      await this.startSession(password);
      const proof = await opaqueAuth.freshProof(session.api, session.identity, password);
      report = await session.api.deleteIdentity({ ...proof, ...withGroups });
    }
    await this.wipeLocal();
    return report;
  }

  /** The local private key (if the store opens), the session and this identity's state folder. */
  private async wipeLocal(): Promise<void> {
    const { session } = this;
    await session.close();
    await session.platform.files.removeTree(session.state.dir);
  }

  /** An OPAQUE login (migrating a pre-OPAQUE account first); returns the key backup's secret. */
  private async startSession(password: string): Promise<string> {
    const { api, identity, state, idTokens } = this.session;
    if (idTokens) {
      throw new ConduitError(
        'CONFIG',
        'This client signs in through an identity provider: password operations are not available (see loginWithProvider).',
      );
    }
    const result = await opaqueAuth.login(api, identity, password, state.deviceId);
    if (result.legacy) {
      await this.migrateLegacyAccount(password);
      return this.startSession(password);
    }
    await this.openSession(result.session, password);
    return result.backup;
  }

  /** Stores the session (its refresh token in the key store, which the password unlocks) and enrols the device. */
  private async openSession(session: SessionResponse, password: string): Promise<void> {
    await this.unlockAfterLogin(password);
    await this.session.sessions.adopt(session, await this.session.keyStore());
    await this.session.api.registerDevice(this.session.state.deviceId);
  }

  /**
   * docs/identity.md, "Migration": logs in the old way, re-encrypts the key backup from the
   * legacy secret to the OPAQUE export key's, and replaces the legacy hash by an OPAQUE record.
   */
  private async migrateLegacyAccount(password: string): Promise<void> {
    const { session } = this;
    const legacy = legacyPasswords(password);
    const { identity, deviceId } = session.state;
    await this.openSession(await session.api.login({ identity, password: legacy.login, deviceId }), password);
    await session.platform.initPythia();
    const change = await opaqueAuth.startMigration(session.api, identity, password, legacy.login);
    await reregisterWithBackup(await session.ethree(), session.api, legacy.backup, change, session.log);
    session.log('account migrated to OPAQUE password authentication');
  }

  /**
   * Unlocks the key store with a password the server has just accepted. If it does not open the
   * store, the password was changed on another device: the store (sealed under the old password)
   * is set aside, still encrypted, and the key comes back from the backup.
   */
  private async unlockAfterLogin(password: string): Promise<void> {
    const { session } = this;
    try {
      await session.keyStore(password);
    } catch (err) {
      if (!(err instanceof ConduitError && err.code === 'INVALID_CREDENTIALS')) throw err;
      const aside = `${session.keyStorePath}.stale-${Date.now()}`;
      await session.platform.files.rename(session.keyStorePath, aside);
      session.log(`key store sealed under an older password moved to ${aside}`);
      await session.keyStore(password);
    }
  }

  /**
   * Makes sure this device holds the identity's private key: restore it from the backup, or
   * create and publish one (and back it up) when the identity has none yet. Running this again
   * after an interrupted registration completes it.
   */
  private async ensurePrivateKey(backupPassword: string, isNew: boolean): Promise<void> {
    await this.session.platform.initPythia(); // the key backup derives its key with Pythia
    const ethree = await this.session.ethree();
    if (await virgil('Reading the local key', () => ethree.hasLocalPrivateKey())) return;
    if (!isNew && (await lifecycle.restoreFromBackup(ethree, backupPassword))) return;
    try {
      await ethree.register();
    } catch (err) {
      if ((err as { name?: unknown }).name !== 'IdentityAlreadyExistsError')
        throw fromVirgilError(err, 'Registering the key');
      if (isNew && (await lifecycle.restoreFromBackup(ethree, backupPassword))) return;
      throw new ConduitError('CONFIG', 'This identity has a public key but no key backup: its private key is lost.');
    }
    await virgil('Backing up the private key', () => ethree.backupPrivateKey(backupPassword));
  }
}
