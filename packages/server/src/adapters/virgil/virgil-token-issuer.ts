import { ConduitError, type Expiring, type Identity, type TokenIssuer } from '@conduit/shared';
import { VirgilAccessTokenSigner, VirgilCrypto } from 'virgil-crypto';
import { JwtGenerator } from 'virgil-sdk';
import { initVirgilWasm } from '@conduit/shared/virgil-wasm';

export interface VirgilTokenIssuerOptions {
  appId: string;
  appKeyId: string;
  /** base64 of the exported app private key (Virgil dashboard, or devstack `createVirgilApp`). */
  appPrivateKey: string;
  ttlSeconds: number;
}

/**
 * Mints Virgil JWTs (VEDS512, `sub: identity-<identity>`) for e3kit clients. The generator needs
 * the WASM crypto, which only initialises asynchronously, so it is built on first use and shared.
 */
export class VirgilTokenIssuer implements TokenIssuer {
  private generator: Promise<JwtGenerator> | undefined;

  constructor(private readonly opts: VirgilTokenIssuerOptions) {
    if (!opts.appId || !opts.appKeyId || !opts.appPrivateKey) {
      throw new ConduitError('CONFIG', 'Virgil appId, appKeyId and appPrivateKey are required.');
    }
    if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) {
      throw new ConduitError('CONFIG', 'Virgil token TTL must be a positive whole number of seconds.');
    }
  }

  async issue(identity: Identity): Promise<Expiring<string>> {
    const jwt = (await this.getGenerator()).generateToken(identity);
    return { value: jwt.toString(), expiresAt: new Date(jwt.body.exp * 1000) };
  }

  private getGenerator(): Promise<JwtGenerator> {
    this.generator ??= this.createGenerator();
    return this.generator;
  }

  private async createGenerator(): Promise<JwtGenerator> {
    await initVirgilWasm();
    const crypto = new VirgilCrypto();
    let apiKey;
    try {
      apiKey = crypto.importPrivateKey(this.opts.appPrivateKey);
    } catch (cause) {
      // The message names the setting, never its value.
      throw new ConduitError('CONFIG', 'Virgil appPrivateKey is not a valid private key.', undefined, { cause });
    }
    return new JwtGenerator({
      appId: this.opts.appId,
      apiKeyId: this.opts.appKeyId,
      apiKey,
      accessTokenSigner: new VirgilAccessTokenSigner(crypto),
      millisecondsToLive: this.opts.ttlSeconds * 1000,
    });
  }
}
