import type { StoredSession } from '../state/local-state.js';
import type { SessionSource } from './session-source.js';

/** An identity provider's ID token, fetched by the app (ConduitClientOptions.idToken). */
export type IdTokenProvider = () => Promise<string>;

/** A token this close to its `exp` is replaced before use: clocks drift and requests take time. */
const RENEW_BEFORE_MS = 60_000;

/**
 * OIDC mode's bearer: the identity provider's ID token, asked again from the provider when it
 * nears expiry or when the server refused it. Concurrent requests share one call to the provider;
 * each new token is kept (`keep`, session.json) so the next process need not ask again.
 */
export class IdTokenSource implements SessionSource {
  private token: string | undefined;
  private expiresAt = 0;
  private renewing: Promise<string> | undefined;

  constructor(
    private readonly provider: IdTokenProvider,
    private readonly keep: (session: StoredSession | undefined) => Promise<void>,
    stored?: StoredSession,
  ) {
    if (stored && Date.parse(stored.expiresAt) > Date.now()) this.use(stored.token);
  }

  /** Whether a token is held (a logout has something to end). */
  get active(): boolean {
    return this.token !== undefined && this.expiresAt > Date.now();
  }

  async bearer(): Promise<string | undefined> {
    if (!this.token || this.expiresAt - RENEW_BEFORE_MS <= Date.now()) return this.renewNow();
    return this.token;
  }

  renew(): Promise<string | undefined> {
    return this.renewNow();
  }

  /** Forgets the held token here (after a logout); the provider's own sign-in is the app's to end. */
  async forget(): Promise<void> {
    this.token = undefined;
    this.expiresAt = 0;
    await this.keep(undefined);
  }

  private renewNow(): Promise<string> {
    this.renewing ??= (async () => {
      try {
        const token = await this.provider();
        this.use(token);
        const exp = jwtExpiry(token);
        if (exp !== undefined) await this.keep({ token, expiresAt: new Date(exp).toISOString() });
        return token;
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  private use(token: string): void {
    this.token = token;
    this.expiresAt = jwtExpiry(token) ?? Number.POSITIVE_INFINITY;
  }
}

/**
 * The `exp` of a JWT in milliseconds, read without verifying (the server verifies; the client only
 * decides when to ask for a new one); undefined if the token is not a JWT with a numeric `exp`.
 */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined || payload.length > 16_384) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const { exp } = JSON.parse(new TextDecoder().decode(bytes)) as { exp?: unknown };
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
