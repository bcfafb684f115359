import { ConduitError, type SessionResponse } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import type { KeyStore } from '../platform/key-store.js';
import type { LocalState, StoredSession } from '../state/local-state.js';
import { withStateLock } from '../state/state-lock.js';
import type { SessionSource } from './session-source.js';

/** The key store entry holding this device's refresh token (never session.json: it outlives sessions). */
export const REFRESH_ENTRY = 'conduit-session-refresh';
/** Renew when a fifth of the session's life is left, at most this long before it ends. */
const MAX_MARGIN_MS = 60_000;
/** Failures that say nothing about the refresh token: a still valid session stays in use. */
const PASSING = new Set(['TRANSPORT', 'TIMEOUT', 'DEPENDENCY_UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL']);
/** Refusals that end the refresh token for good. */
const FINAL = new Set(['UNAUTHENTICATED', 'REFRESH_TOKEN_REUSED', 'DEVICE_REVOKED']);

export interface DevSessionDeps {
  state: LocalState;
  api: Pick<HttpClient, 'refreshSession'>;
  /** The key store; `prompt` false: only if already unlocked (no password asked). */
  keyStore: (prompt: boolean) => Promise<KeyStore | undefined>;
}

/**
 * Dev-mode sessions of this device: the access token (session.json) and the refresh token (an
 * entry of the encrypted key store). The token is renewed ahead of expiry when the key store is
 * unlocked, and on expiry or a 401 in any case (which may ask for the password). Renewals are
 * serialized across processes of the identity (state-lock.ts), and a process adopts a session
 * another one renewed instead of trading a refresh token twice.
 */
export class DevSessionSource implements SessionSource {
  private renewing: Promise<string | undefined> | undefined;

  constructor(
    private readonly deps: DevSessionDeps,
    private current: StoredSession | undefined,
  ) {}

  /** Whether this device holds a session (perhaps expired, and renewable). */
  get active(): boolean {
    return this.current !== undefined;
  }

  async bearer(): Promise<string | undefined> {
    const session = this.current;
    if (!session) return undefined;
    if (!dueForRenewal(session)) return session.token;
    const live = !expired(session);
    // Ahead of expiry only with an unlocked key store: no password prompt for a valid session.
    if (live && !(await this.deps.keyStore(false))) return session.token;
    try {
      return (await this.renewOnce(session.token, !live)) ?? (live ? session.token : undefined);
    } catch (err) {
      if (live && err instanceof ConduitError && PASSING.has(err.code)) return session.token;
      throw err;
    }
  }

  renew(rejected: string): Promise<string | undefined> {
    return this.renewOnce(rejected, true);
  }

  /** Stores a session the server just issued (login or refresh): the refresh token goes to `keyStore`. */
  async adopt(session: SessionResponse, keyStore: KeyStore): Promise<void> {
    if (session.refreshToken && session.refreshExpiresAt) {
      const value = JSON.stringify({ token: session.refreshToken, expiresAt: session.refreshExpiresAt });
      if (await keyStore.exists(REFRESH_ENTRY)) await keyStore.update({ name: REFRESH_ENTRY, value });
      else await keyStore.save({ name: REFRESH_ENTRY, value });
    } else if (await keyStore.exists(REFRESH_ENTRY)) {
      await keyStore.remove(REFRESH_ENTRY);
    }
    const stored = { token: session.token, expiresAt: session.expiresAt, issuedAt: new Date().toISOString() };
    await this.deps.state.saveSession(stored);
    this.current = stored;
  }

  /** Forgets the session here (after a logout or this device's revocation) and its refresh token if the store is open. */
  async forget(): Promise<void> {
    this.current = undefined;
    await this.deps.state.clearSession();
    const store = await this.deps.keyStore(false);
    if (store && (await store.exists(REFRESH_ENTRY))) await store.remove(REFRESH_ENTRY);
  }

  private renewOnce(rejected: string, prompt: boolean): Promise<string | undefined> {
    this.renewing ??= withStateLock(this.deps.state.files, this.deps.state.sessionLockPath, () =>
      this.renewLocked(rejected, prompt),
    ).finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renewLocked(rejected: string, prompt: boolean): Promise<string | undefined> {
    const { state, api } = this.deps;
    const onDisk = await state.loadSession();
    if (onDisk && onDisk.token !== rejected && !dueForRenewal(onDisk)) {
      this.current = onDisk; // another process of this identity renewed it meanwhile
      return onDisk.token;
    }
    const store = await this.deps.keyStore(prompt);
    if (!store) return undefined;
    await store.reload();
    const refresh = parseRefresh((await store.load(REFRESH_ENTRY))?.value);
    if (!refresh || Date.parse(refresh.expiresAt) <= Date.now()) return undefined;
    let session: SessionResponse;
    try {
      session = await api.refreshSession({
        identity: state.identity,
        deviceId: state.deviceId,
        refreshToken: refresh.token,
      });
    } catch (err) {
      if (err instanceof ConduitError && FINAL.has(err.code)) await store.remove(REFRESH_ENTRY);
      throw err;
    }
    await this.adopt(session, store);
    return session.token;
  }
}

function expired(session: StoredSession): boolean {
  return Date.parse(session.expiresAt) <= Date.now();
}

function dueForRenewal(session: StoredSession): boolean {
  const end = Date.parse(session.expiresAt);
  const start = session.issuedAt === undefined ? end - 5 * MAX_MARGIN_MS : Date.parse(session.issuedAt);
  const margin = Math.min(MAX_MARGIN_MS, Math.max(0, end - start) / 5);
  return end - margin <= Date.now();
}

function parseRefresh(value: string | undefined): { token: string; expiresAt: string } | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as { token?: unknown; expiresAt?: unknown };
    if (typeof parsed.token === 'string' && typeof parsed.expiresAt === 'string') {
      return { token: parsed.token, expiresAt: parsed.expiresAt };
    }
  } catch {
    // a corrupt entry is no refresh token: the user logs in again
  }
  return undefined;
}
