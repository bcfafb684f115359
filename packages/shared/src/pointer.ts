import { z } from 'zod';
import { ConduitError } from './errors.js';
import { DeviceId, GroupId, Identity, ObjectId, PointerId } from './ids.js';

/**
 * Twilio Sync items may hold at most 16 KiB. A pointer is far smaller: the bound leaves room for
 * the item's own envelope and keeps writes in Sync's cheapest rate class.
 */
export const MAX_POINTER_BYTES = 8 * 1024;
/** Base64 of the sealed envelope (E3Kit group.encrypt output). */
export const MAX_ENVELOPE_CHARS = 6 * 1024;

/**
 * Pointer v1: what travels through Twilio Sync. Only ids, sizes and the sealed envelope:
 * file names, types and keys are inside the envelope, which only group members can open.
 */
export const PointerV1 = z.strictObject({
  v: z.literal(1),
  kind: z.literal('file'),
  id: PointerId,
  groupId: GroupId,
  sender: z.strictObject({ identity: Identity, deviceId: DeviceId }),
  objectId: ObjectId,
  /** Stored (ciphertext) size in bytes. */
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  envelope: z
    .string()
    .min(1)
    .max(MAX_ENVELOPE_CHARS)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'envelope: base64'),
  createdAt: z.iso.datetime(),
});
export type PointerV1 = z.infer<typeof PointerV1>;

export function serializePointer(pointer: PointerV1): string {
  const json = JSON.stringify(PointerV1.parse(pointer));
  if (Buffer.byteLength(json) > MAX_POINTER_BYTES) {
    throw new ConduitError('VALIDATION_FAILED', `Pointer exceeds ${MAX_POINTER_BYTES} bytes.`);
  }
  return json;
}

/** Parses untrusted Sync item data; anything that is not a valid v1 pointer is a typed error. */
export function parsePointer(data: unknown): PointerV1 {
  if (typeof data === 'object' && data !== null && (data as { v?: unknown }).v !== 1) {
    throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported pointer version.');
  }
  const result = PointerV1.safeParse(data);
  if (!result.success) {
    throw new ConduitError('VALIDATION_FAILED', 'Invalid pointer.', z.flattenError(result.error).fieldErrors);
  }
  if (Buffer.byteLength(JSON.stringify(result.data)) > MAX_POINTER_BYTES) {
    throw new ConduitError('VALIDATION_FAILED', `Pointer exceeds ${MAX_POINTER_BYTES} bytes.`);
  }
  return result.data;
}
