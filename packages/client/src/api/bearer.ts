/** An identity provider's ID token, fetched by the app (ConduitClientOptions.idToken). */
export type IdTokenProvider = () => Promise<string>;

/** A token this close to its `exp` is replaced before use: clocks drift and requests take time. */
const RENEW_BEFORE_MS = 60_000;

/**
 * The bearer of authenticated requests: a dev session's token as set, or an identity provider's
 * ID token, asked again from the provider when it nears expiry or when the server refused it.
 * Concurrent requests share one call to the provider.
 */
export class Bearer {
  private token: string | undefined;
  private expiresAt = 0;
  private provider: IdTokenProvider | undefined;
  private onRenewed: ((token: string, expiresAt: Date) => Promise<void>) | undefined;
  private renewing: Promise<string> | undefined;

  /** A fixed token (dev sessions) or none. */
  set(token: string | undefined): void {
    this.token = token;
    this.expiresAt = token ? (jwtExpiry(token) ?? Number.POSITIVE_INFINITY) : 0;
  }

  /** Uses `provider` from now on; `onRenewed` hears of each new token (to keep it for the next process). */
  useProvider(provider: IdTokenProvider, onRenewed?: (token: string, expiresAt: Date) => Promise<void>): void {
    this.provider = provider;
    this.onRenewed = onRenewed;
  }

  get hasProvider(): boolean {
    return this.provider !== undefined;
  }

  /** The token to send, renewed first if it is about to expire; undefined when there is none. */
  async current(): Promise<string | undefined> {
    if (this.provider && (!this.token || this.expiresAt - RENEW_BEFORE_MS <= Date.now())) return this.renew();
    return this.token;
  }

  /** Asks the provider for a new token (once for all callers waiting now). */
  renew(): Promise<string> {
    const provider = this.provider;
    if (!provider) return Promise.reject(new Error('no token provider'));
    this.renewing ??= (async () => {
      try {
        const token = await provider();
        this.set(token);
        const exp = jwtExpiry(token);
        if (exp !== undefined) await this.onRenewed?.(token, new Date(exp));
        return token;
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
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
