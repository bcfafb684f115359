import { z } from 'zod';
import { ObjectId, PointerId } from './ids.js';

/**
 * Plaintext of the sealed envelope (before E3Kit `group.encrypt`, which also signs it with the
 * sender's key). It binds the content key to one pointer and one object, so a server or Sync
 * peer cannot replay a valid envelope against a different ciphertext.
 */
export const FileMeta = z.strictObject({
  name: z.string().min(1).max(255),
  type: z.string().min(1).max(127),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type FileMeta = z.infer<typeof FileMeta>;

const b64 = (bytes: number) => z.base64().refine((s) => Buffer.from(s, 'base64').length === bytes);

export const EnvelopeV1 = z.strictObject({
  v: z.literal(1),
  alg: z.literal('A256GCM'),
  key: b64(32),
  nonce: b64(12),
  pointerId: PointerId,
  objectId: ObjectId,
  /** SHA-256 of the stored ciphertext (hex). */
  ciphertextSha256: z.string().regex(/^[0-9a-f]{64}$/),
  file: FileMeta,
});
export type EnvelopeV1 = z.infer<typeof EnvelopeV1>;
