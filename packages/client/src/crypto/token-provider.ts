import { Jwt, type IAccessTokenProvider, type ITokenContext } from 'virgil-sdk';

// Renew a little before expiry so a token never lapses in flight (virgil-sdk uses the same margin).
const EXPIRY_MARGIN_MS = 5_000;

/**
 * Caches the Virgil JWT and renews it when it is about to expire OR when asked to (`forceReload`).
 * virgil-sdk's CachingJwtProvider ignores `forceReload`, so when the directory rejects a token the
 * client still believes fresh (401 code 20304, e.g. clocks apart), CardManager's one retry would
 * resend the same token and fail; here the retry gets a new one.
 */
export class RefreshingJwtProvider implements IAccessTokenProvider {
  private cached: Jwt | undefined;
  private pending: Promise<Jwt> | undefined;

  constructor(private readonly fetchToken: () => Promise<string>) {}

  getToken(context: ITokenContext): Promise<Jwt> {
    const fresh = this.cached && !this.cached.isExpired(new Date(Date.now() + EXPIRY_MARGIN_MS));
    if (this.cached && fresh && !context.forceReload) return Promise.resolve(this.cached);
    this.pending ??= this.renew();
    return this.pending;
  }

  private async renew(): Promise<Jwt> {
    try {
      // Deferred a tick so `pending` is set before this can settle, even if fetchToken throws synchronously.
      this.cached = Jwt.fromString(await Promise.resolve().then(() => this.fetchToken()));
      return this.cached;
    } finally {
      this.pending = undefined;
    }
  }
}
