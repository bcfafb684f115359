import { z } from 'zod';
import { MAX_RECORD_BYTES } from '../api.js';
import { ConduitError } from '../errors.js';
import type { Endpoint } from '../ids.js';
import { DeviceId, GroupId, Identity, ObjectId, PointerId, RecordId, VersionId } from '../ids.js';
import {
  base64Bytes,
  boundedJson,
  EnvelopeSegmentSize,
  integrity,
  parseJson,
  storedSize,
  validPadding,
} from './sealed-json.js';

/** The record envelope format writers produce (with `kind: 'record'`, what a reader checks first). */
export const RECORD_ENVELOPE_VERSION = 2;
/** Record envelope v1: still read (the durable feed keeps every version ever written). */
export const RECORD_ENVELOPE_V1 = 1;
/** Upper bound on an app's record key name (UTF-8 bytes); the record id is derived from it. */
export const MAX_RECORD_KEY_BYTES = 256;
/** v1 carried values up to this size (JSON bytes) inside the envelope as well as in the object. */
export const MAX_INLINE_VALUE_BYTES_V1 = 1024;
/** v2: values up to the writer's `inlineMaxBytes` (default, upper bound) travel only in the envelope. */
export const DEFAULT_INLINE_MAX_BYTES = 4096;
export const MAX_INLINE_VALUE_BYTES = 8192;
/** Inline values are padded to a multiple of this, so the envelope's size says little about the value's. */
export const INLINE_PAD_BYTES = 256;
/** Upper bound on the v1 envelope's plaintext JSON. */
export const MAX_RECORD_ENVELOPE_JSON_BYTES_V1 = 3072;
/**
 * Upper bound on the v2 envelope's plaintext JSON: a maximal inline value is 10,924 base64
 * characters, the other fields at most about 1,100 bytes; 512 bytes stay for E3Kit's framing and
 * signature under the sealed envelope's bound (16 KiB of base64: 12,288 bytes). A writer whose envelope would not fit uploads the
 * value instead (records/records-client.ts).
 */
export const MAX_RECORD_ENVELOPE_JSON_BYTES = 11_776;

const inlineBase64 = (maxBytes: number) =>
  z
    .base64()
    .max(Math.ceil(maxBytes / 3) * 4)
    .nullable();

/** Where a version's value is: its object and the container parameters (absent for a tombstone). */
export const RecordContent = z.strictObject({
  objectId: ObjectId,
  /** Content key of the container (32 bytes, base64). */
  key: base64Bytes(32),
  headerSha256: z.string().regex(/^[0-9a-f]{64}$/),
  plainLength: z.number().int().nonnegative().max(MAX_RECORD_BYTES),
  paddedLength: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  segmentSize: EnvelopeSegmentSize,
});
export type RecordContent = z.infer<typeof RecordContent>;

const envelopeFields = {
  kind: z.literal('record'),
  groupId: GroupId,
  recordId: RecordId,
  versionId: VersionId,
  parentVersionId: VersionId.nullable(),
  /** The version's unique id (v1: the pointer that announced it). */
  pointerId: PointerId,
  sender: z.strictObject({ identity: Identity, deviceId: DeviceId }),
  /** The app's key name (the record id is derived from it). */
  appKey: z.string().min(1).max(MAX_RECORD_KEY_BYTES),
  deleted: z.boolean(),
  content: RecordContent.nullable(),
};

/**
 * Record envelope v1 (docs/format.md, record envelope): the plaintext sealed with E3Kit
 * `group.encrypt` (encrypted to the group, signed by the writer). It binds the content key and
 * the app's key name to one version of one record in one group, written by one device, after one
 * parent: the server or a Sync peer cannot move a valid envelope to another record, version,
 * object, parent or sender, nor turn a value into a tombstone. Only the feed position (seq) is
 * the server's, because it is assigned after sealing. v1 always has an object for a live value;
 * `inline` repeats small values (padded with spaces, base64) so a reader needs no object GET.
 */
export const RecordEnvelopeV1 = z.strictObject({
  v: z.literal(RECORD_ENVELOPE_V1),
  ...envelopeFields,
  inline: inlineBase64(MAX_INLINE_VALUE_BYTES_V1),
});
export type RecordEnvelopeV1 = z.infer<typeof RecordEnvelopeV1>;

/**
 * Record envelope v2: the same bindings as v1, but a live value is in exactly one place, the S3
 * object (`content`) or the envelope itself (`inline`, the value's JSON padded with spaces to a
 * multiple of INLINE_PAD_BYTES, base64); a tombstone has neither.
 */
export const RecordEnvelopeV2 = z.strictObject({
  v: z.literal(RECORD_ENVELOPE_VERSION),
  ...envelopeFields,
  inline: inlineBase64(MAX_INLINE_VALUE_BYTES),
});
export type RecordEnvelopeV2 = z.infer<typeof RecordEnvelopeV2>;

/** Any record envelope a reader accepts. */
export type RecordEnvelope = RecordEnvelopeV1 | RecordEnvelopeV2;

/** What the feed or a 409's head claim about a version (all untrusted until opened). */
export interface VersionClaim {
  groupId: GroupId;
  recordId: RecordId;
  versionId: VersionId;
  parentVersionId: VersionId | null;
  pointerId: PointerId;
  objectId: string | null;
  size: number;
  deleted: boolean;
  envelope: string;
  sender: Endpoint;
}

/** The envelope's `inline` field for a value's JSON text (null when it is longer than `maxBytes`). */
export function inlineValue(json: Buffer, maxBytes: number = DEFAULT_INLINE_MAX_BYTES): string | null {
  if (json.length > Math.min(maxBytes, MAX_INLINE_VALUE_BYTES)) return null;
  const padded = Buffer.alloc(
    Math.max(INLINE_PAD_BYTES, Math.ceil(json.length / INLINE_PAD_BYTES) * INLINE_PAD_BYTES),
    0x20,
  );
  json.copy(padded);
  return padded.toString('base64');
}

/**
 * The v2 envelope's plaintext bytes (to be sealed; the caller zeroes them after sealing).
 * VALIDATION_FAILED when it exceeds MAX_RECORD_ENVELOPE_JSON_BYTES.
 */
export function encodeRecordEnvelope(envelope: RecordEnvelopeV2): Buffer {
  const parsed = RecordEnvelopeV2.parse(envelope);
  if (!parsed.deleted && (parsed.content === null) === (parsed.inline === null)) {
    throw new ConduitError('VALIDATION_FAILED', 'A live record version has exactly one of content and inline.');
  }
  return boundedJson(parsed, MAX_RECORD_ENVELOPE_JSON_BYTES, 'The record envelope is too large.');
}

/**
 * Reads an opened record envelope's plaintext: JSON (INTEGRITY), then kind and version
 * (FORMAT_UNSUPPORTED), then the strict schema of that version (INTEGRITY).
 */
export function decodeRecordEnvelope(json: Buffer): RecordEnvelope {
  const raw = parseJson(json, 'The record envelope is not valid JSON.');
  const r = raw as { v?: unknown; kind?: unknown } | null;
  const schema =
    r?.kind !== 'record'
      ? undefined
      : r.v === RECORD_ENVELOPE_VERSION
        ? RecordEnvelopeV2
        : r.v === RECORD_ENVELOPE_V1
          ? RecordEnvelopeV1
          : undefined;
  if (!schema) throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported record envelope.');
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw integrity('The record envelope is malformed.');
  return parsed.data;
}

/** Every binding of the envelope against the claim, the inline value and the sizes: INTEGRITY on any difference. */
export function checkRecordEnvelope(claim: VersionClaim, e: RecordEnvelope): void {
  const same =
    e.groupId === claim.groupId &&
    e.recordId === claim.recordId &&
    e.versionId === claim.versionId &&
    e.parentVersionId === claim.parentVersionId &&
    e.pointerId === claim.pointerId &&
    e.sender.identity === claim.sender.identity &&
    e.sender.deviceId === claim.sender.deviceId &&
    e.deleted === claim.deleted &&
    (e.content?.objectId ?? null) === claim.objectId;
  if (!same) throw integrity('The record envelope belongs to a different version, record, object or sender.');
  if (e.v === RECORD_ENVELOPE_V1) checkV1Value(e);
  else checkV2Value(e);
  if (e.content) {
    const { plainLength, paddedLength, segmentSize } = e.content;
    if (!validPadding(plainLength, paddedLength)) throw integrity('The record envelope has an invalid padded length.');
    if (claim.size !== storedSize(paddedLength, segmentSize)) {
      throw integrity('The stored object size does not match the record envelope.');
    }
  } else if (claim.size !== 0) {
    throw integrity('A version without an object claims a stored size.');
  }
}

/** v1: a live value always has its object; `inline`, if present, is that value (its length is plainLength). */
function checkV1Value(e: RecordEnvelopeV1): void {
  if (e.deleted !== (e.content === null)) throw integrity('A v1 record envelope has an object exactly when live.');
  if (e.inline === null) return;
  // JSON allows trailing whitespace: the padding is spaces, the value's length is plainLength.
  const text = Buffer.from(e.inline, 'base64');
  const plainLength = e.content?.plainLength ?? -1;
  if (plainLength > text.length || text.subarray(plainLength).some((b) => b !== 0x20)) {
    throw integrity('The inline value does not match the record envelope.');
  }
}

/** v2: a tombstone has no value; a live value is in exactly one place, an inline one padded. */
function checkV2Value(e: RecordEnvelopeV2): void {
  const places = (e.content === null ? 0 : 1) + (e.inline === null ? 0 : 1);
  if (places !== (e.deleted ? 0 : 1)) throw integrity('The record envelope places its value wrongly.');
  if (e.inline !== null) {
    const length = Buffer.from(e.inline, 'base64').length;
    if (length === 0 || length % INLINE_PAD_BYTES !== 0) throw integrity('The inline value is not padded.');
  }
}
