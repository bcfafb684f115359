import { createHash, randomBytes } from 'node:crypto';
import { VirgilPythiaCrypto } from '@virgilsecurity/pythia-crypto';
import { VirgilServiceError } from './errors.js';

const pythia = new VirgilPythiaCrypto();

/** A fresh secret transformation key (the cloud's per-app Pythia key). */
export function generateTransformationKey(): string {
  const { privateKey } = pythia.computeTransformationKeyPair({
    transformationKeyId: randomBytes(16),
    pythiaSecret: randomBytes(32),
    pythiaScopeSecret: randomBytes(32),
  });
  return privateKey.toString('base64');
}

/**
 * `POST /pythia/v1/brainkey`: transforms the client's blinded password with the secret key. The
 * tweak binds the result to the identity and brainkey id, so one user's blinded password is
 * useless for another's backup. Encoding the pair as JSON keeps it unambiguous.
 */
export function brainkeySeed(
  transformationKey: string,
  identity: string,
  blindedPassword: string,
  brainkeyId: string | undefined,
): string {
  const tweak = createHash('sha512')
    .update(JSON.stringify(['conduit-brainkey-v1', identity, brainkeyId ?? null]))
    .digest();
  try {
    const { transformedPassword } = pythia.transform({
      blindedPassword: Buffer.from(blindedPassword, 'base64'),
      tweak,
      transformationPrivateKey: Buffer.from(transformationKey, 'base64'),
    });
    return transformedPassword.toString('base64');
  } catch {
    // Not a valid group element: the client sent garbage, not a blinded password.
    throw new VirgilServiceError('INVALID_BLINDED_PASSWORD');
  }
}
