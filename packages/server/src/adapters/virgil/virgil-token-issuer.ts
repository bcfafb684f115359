import { ConduitError, type Expiring, type Identity, type TokenIssuer } from '@conduit/shared';
import { VirgilAccessTokenSigner, VirgilCrypto, type VirgilPrivateKey } from 'virgil-crypto';
import { initVirgilWasm } from '@conduit/shared/virgil-wasm';

export interface VirgilTokenIssuerOptions {
  appId: string;
  appKeyId: string;
  /** base64 of the exported app private key (Virgil dashboard, or devstack `createVirgilApp`). */
  appPrivateKey: string;
  ttlSeconds: number;
}

interface Signer {
  signer: VirgilAccessTokenSigner;
  appKey: VirgilPrivateKey;
}

const base64url = (value: string | Buffer) =>
  (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).toString('base64url');

/**
 * Mints Virgil JWTs (`virgil-jwt;v=1`: VEDS512, `iss: virgil-<appId>`, `sub: identity-<identity>`)
 * for e3kit clients. virgil-sdk's JwtGenerator did this, but that package lists webpack as a
 * runtime dependency, which would put a bundler into the server image; the token is only
 * `base64url(header).base64url(body).base64url(signature)` and the signature is virgil-crypto's
 * own token signer, so the server assembles it here. The contract suite verifies these tokens with
 * virgil-sdk's JwtVerifier (the local Virgil directory). The signer needs the WASM crypto, which
 * only initialises asynchronously, so it is built on first use and shared.
 */
export class VirgilTokenIssuer implements TokenIssuer {
  private signer: Promise<Signer> | undefined;

  constructor(private readonly opts: VirgilTokenIssuerOptions) {
    if (!opts.appId || !opts.appKeyId || !opts.appPrivateKey) {
      throw new ConduitError('CONFIG', 'Virgil appId, appKeyId and appPrivateKey are required.');
    }
    if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) {
      throw new ConduitError('CONFIG', 'Virgil token TTL must be a positive whole number of seconds.');
    }
  }

  async issue(identity: Identity): Promise<Expiring<string>> {
    const { signer, appKey } = await this.getSigner();
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + this.opts.ttlSeconds;
    const header = { alg: signer.getAlgorithm(), kid: this.opts.appKeyId, typ: 'JWT', cty: 'virgil-jwt;v=1' };
    const body = { iss: `virgil-${this.opts.appId}`, sub: `identity-${identity}`, iat, exp };
    const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(body))}`;
    const signature = signer.generateTokenSignature({ value: unsigned, encoding: 'utf8' }, appKey);
    return { value: `${unsigned}.${base64url(signature)}`, expiresAt: new Date(exp * 1000) };
  }

  private getSigner(): Promise<Signer> {
    this.signer ??= this.createSigner();
    return this.signer;
  }

  private async createSigner(): Promise<Signer> {
    await initVirgilWasm();
    const crypto = new VirgilCrypto();
    let appKey: VirgilPrivateKey;
    try {
      appKey = crypto.importPrivateKey(this.opts.appPrivateKey);
    } catch (cause) {
      // The message names the setting, never its value.
      throw new ConduitError('CONFIG', 'Virgil appPrivateKey is not a valid private key.', undefined, { cause });
    }
    return { signer: new VirgilAccessTokenSigner(crypto), appKey };
  }
}
