import { createSecretKey, type KeyObject } from 'node:crypto';
import { ConduitError, DeviceId, Identity } from '@conduit/shared';
import { SignJWT, jwtVerify } from 'jose';
import type { Authenticator, Principal } from '@conduit/shared';

const ISSUER = 'conduit-dev';
const AUDIENCE = 'conduit-api';
/** Default life of an access session (CONDUIT_SESSION_TTL_SECONDS); refresh tokens renew it. */
export const SESSION_TTL_SECONDS = 12 * 3600;
const DEVICE_CLAIM = 'dev';
/** The identity's session epoch at issue: a password change or lock bumps it (adapters/redis/sessions.ts). */
const EPOCH_CLAIM = 'sep';
/** The device's session epoch at issue: a logout of that device bumps it. */
const DEVICE_EPOCH_CLAIM = 'dse';

/**
 * Dev-mode sessions: HS256 JWTs whose `sub` is the identity and whose `dev` claim is the device
 * the session was opened on, so revoking that device ends the session (the middleware checks it).
 */
export class SessionTokens implements Authenticator {
  // A KeyObject, imported once: jose would otherwise import raw bytes on every verification.
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly ttlSeconds = SESSION_TTL_SECONDS,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  async issue(
    identity: string,
    deviceId: string,
    now = new Date(),
    epochs: { epoch: number; deviceEpoch: number } = { epoch: 0, deviceEpoch: 0 },
  ): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.ttlSeconds;
    const token = await new SignJWT({
      [DEVICE_CLAIM]: deviceId,
      [EPOCH_CLAIM]: epochs.epoch,
      [DEVICE_EPOCH_CLAIM]: epochs.deviceEpoch,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(identity)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async authenticate(bearerToken: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(bearerToken, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        // Sessions issued before devices were bound lack the claim: refused, the user logs in again.
        requiredClaims: ['sub', 'exp', DEVICE_CLAIM],
      });
      return {
        identity: Identity.parse(payload.sub),
        deviceId: DeviceId.parse(payload[DEVICE_CLAIM]),
        sessionEpoch: epochClaim(payload[EPOCH_CLAIM]),
        deviceSessionEpoch: epochClaim(payload[DEVICE_EPOCH_CLAIM]),
      };
    } catch (cause) {
      throw new ConduitError('UNAUTHENTICATED', undefined, undefined, { cause });
    }
  }
}

/** Sessions from before an epoch existed count as epoch 0: ended by its first bump. */
function epochClaim(value: unknown): number {
  const epoch = value ?? 0;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch)) throw new Error('bad session epoch');
  return epoch;
}
