import { z } from 'zod';
import { ObjectId, PointerId } from './ids.js';

/** The file's metadata inside the sealed envelope (names and types never travel in the clear). */
export const FileMeta = z.strictObject({
  name: z.string().min(1).max(255),
  type: z.string().min(1).max(127),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type FileMeta = z.infer<typeof FileMeta>;

const b64 = (bytes: number) => z.base64().refine((s) => Buffer.from(s, 'base64').length === bytes);

/**
 * Envelope v2: plaintext of the sealed envelope (before E3Kit `group.encrypt`, which also signs it
 * with the sender's key): the content key and parameters of a container v1 object (docs/format.md
 * section 10). It binds the key to one pointer and one object, so a server or Sync peer cannot
 * replay a valid envelope against a different ciphertext.
 * Cross-field rules (paddedLength is plainLength or padme(plainLength), file.size equals
 * plainLength, the ids equal the pointer's) are checked by the receiver after parsing.
 */
export const MAX_ENVELOPE_JSON_BYTES = 2048;
export const EnvelopeV2 = z.strictObject({
  v: z.literal(2),
  container: z.literal(1),
  key: b64(32),
  headerSha256: z.string().regex(/^[0-9a-f]{64}$/),
  pointerId: PointerId,
  objectId: ObjectId,
  plainLength: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  paddedLength: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  segmentSize: z
    .number()
    .int()
    .min(64 * 1024)
    .max(8 * 1024 * 1024),
  file: FileMeta,
});
export type EnvelopeV2 = z.infer<typeof EnvelopeV2>;
