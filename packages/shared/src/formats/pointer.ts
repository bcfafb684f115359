import { z } from 'zod';
import { ConduitError } from '../errors.js';
import { DeviceId, GroupId, Identity, ObjectId, PointerId, RecordId, VersionId } from '../ids.js';

/**
 * Twilio Sync items may hold at most 16 KiB. A pointer is far smaller: the bound leaves room for
 * the item's own envelope and keeps writes in Sync's cheapest rate class.
 */
export const MAX_POINTER_BYTES = 8 * 1024;
/** Base64 of the sealed envelope (E3Kit group.encrypt output). */
export const MAX_ENVELOPE_CHARS = 6 * 1024;

/** The pointer format's version; a reader refuses any other (FORMAT_UNSUPPORTED) before parsing. */
export const POINTER_VERSION = 1;

/**
 * Pointer v1: what travels through Twilio Sync. Only ids, sizes and the sealed envelope:
 * file names, types and keys are inside the envelope, which only group members can open.
 */
export const PointerV1 = z.strictObject({
  v: z.literal(POINTER_VERSION),
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

/**
 * Record pointer v1: announces one version of a synced record (docs/records.md). The same version
 * stays in the server's durable feed after the Twilio copy is purged, for catch-up.
 */
export const RecordPointerV1 = z.strictObject({
  v: z.literal(POINTER_VERSION),
  kind: z.literal('record'),
  id: PointerId,
  groupId: GroupId,
  sender: z.strictObject({ identity: Identity, deviceId: DeviceId }),
  recordId: RecordId,
  versionId: VersionId,
  parentVersionId: VersionId.nullable(),
  /** Position in the group's feed (assigned by the server when the version was accepted). */
  seq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  deleted: z.boolean(),
  /** Null for a tombstone. */
  objectId: ObjectId.nullable(),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  envelope: PointerV1.shape.envelope,
  createdAt: z.iso.datetime(),
});
export type RecordPointerV1 = z.infer<typeof RecordPointerV1>;

/** What a record version contributes to the pointer announcing it. */
export type RecordVersionFields = Pick<
  RecordPointerV1,
  'recordId' | 'versionId' | 'parentVersionId' | 'seq' | 'deleted' | 'objectId' | 'size' | 'createdAt'
> & { pointerId: string };

/**
 * The record pointer announcing one version: the Sync item the server publishes, and what the
 * writer expects it to be (with its own identity and the envelope it sealed).
 */
export function recordPointerOf(
  groupId: string,
  v: RecordVersionFields,
  sender: RecordPointerV1['sender'],
  envelope: string,
): RecordPointerV1 {
  return {
    v: POINTER_VERSION,
    kind: 'record',
    id: v.pointerId,
    groupId,
    sender,
    recordId: v.recordId,
    versionId: v.versionId,
    parentVersionId: v.parentVersionId,
    seq: v.seq,
    deleted: v.deleted,
    objectId: v.objectId,
    size: v.size,
    envelope,
    createdAt: v.createdAt,
  };
}

/** Anything a group's Sync Map may carry. */
export const AnyPointer = z.discriminatedUnion('kind', [PointerV1, RecordPointerV1]);
export type AnyPointer = z.infer<typeof AnyPointer>;

export function serializePointer(pointer: AnyPointer): string {
  const json = JSON.stringify(AnyPointer.parse(pointer));
  checkSize(json);
  return json;
}

/** Parses untrusted Sync item data; anything that is not a valid v1 file pointer is a typed error. */
export function parsePointer(data: unknown): PointerV1 {
  return parseAs(PointerV1, data);
}

/** Parses untrusted Sync item data of any kind (file or record pointer). */
export function parseAnyPointer(data: unknown): AnyPointer {
  return parseAs(AnyPointer, data);
}

/** The one pointer parser: version first (chosen by `v`), then the strict schema, then the size bound. */
function parseAs<T>(schema: z.ZodType<T>, data: unknown): T {
  if (typeof data === 'object' && data !== null && (data as { v?: unknown }).v !== POINTER_VERSION) {
    throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported pointer version.');
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new ConduitError('VALIDATION_FAILED', 'Invalid pointer.', z.flattenError(result.error).fieldErrors);
  }
  checkSize(JSON.stringify(result.data));
  return result.data;
}

function checkSize(json: string): void {
  if (Buffer.byteLength(json) > MAX_POINTER_BYTES) {
    throw new ConduitError('VALIDATION_FAILED', `Pointer exceeds ${MAX_POINTER_BYTES} bytes.`);
  }
}
