import { z } from 'zod';
import { DeviceId, GroupId, Identity, ObjectId, PointerId } from './ids.js';

/** The file's metadata inside the sealed envelope (names and types never travel in the clear). */
export const FileMeta = z.strictObject({
  name: z.string().min(1).max(255),
  type: z.string().min(1).max(127),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type FileMeta = z.infer<typeof FileMeta>;

const b64 = (bytes: number) => z.base64().refine((s) => Buffer.from(s, 'base64').length === bytes);

/**
 * Envelope v3: plaintext of the sealed envelope (before E3Kit `group.encrypt`, which also signs it
 * with the sender's key): the content key and parameters of a container v1 object (docs/format.md
 * section 10). Signed with it is everything a receiver relies on: the sending endpoint (identity
 * AND device), the group, the pointer, the object, the lengths and the container header digest
 * (which, with per-segment AEAD, authenticates the content). So neither the server nor a Sync peer
 * can move a valid envelope to another pointer, group, object or sender, nor claim another device.
 * Cross-field rules (paddedLength is plainLength or padme(plainLength), file.size equals
 * plainLength, every bound field equals the pointer's) are checked by the receiver after parsing.
 * v2 (no sender, no group) is refused: file envelopes only live in Sync items, never durably.
 */
export const MAX_ENVELOPE_JSON_BYTES = 2048;
export const ENVELOPE_VERSION = 3;
export const EnvelopeV3 = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  container: z.literal(1),
  key: b64(32),
  headerSha256: z.string().regex(/^[0-9a-f]{64}$/),
  sender: z.strictObject({ identity: Identity, deviceId: DeviceId }),
  groupId: GroupId,
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
export type EnvelopeV3 = z.infer<typeof EnvelopeV3>;
