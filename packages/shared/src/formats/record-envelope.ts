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

/** The record envelope format's version (with `kind: 'record'`, what a reader checks first). */
export const RECORD_ENVELOPE_VERSION = 1;
/** Upper bound on an app's record key name (UTF-8 bytes); the record id is derived from it. */
export const MAX_RECORD_KEY_BYTES = 256;
/** Values up to this size (JSON bytes) travel inside the sealed envelope as well (docs/records.md). */
export const MAX_INLINE_VALUE_BYTES = 1024;
/** Inline values are padded to a multiple of this, so the envelope's size says little about the value's. */
export const INLINE_PAD_BYTES = 256;
/** Upper bound on the envelope's plaintext JSON. */
export const MAX_RECORD_ENVELOPE_JSON_BYTES = 3072;

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

/**
 * Record envelope v1 (docs/records.md): the plaintext sealed with E3Kit `group.encrypt`
 * (encrypted to the group, signed by the writer). It binds the content key and the app's key name
 * to one version of one record in one group, written by one device, after one parent: the server
 * or a Sync peer cannot move a valid envelope to another record, version, object, parent or
 * sender, nor turn a value into a tombstone. Only the feed position (seq) is the server's, because
 * it is assigned after sealing.
 */
export const RecordEnvelopeV1 = z.strictObject({
  v: z.literal(RECORD_ENVELOPE_VERSION),
  kind: z.literal('record'),
  groupId: GroupId,
  recordId: RecordId,
  versionId: VersionId,
  parentVersionId: VersionId.nullable(),
  pointerId: PointerId,
  sender: z.strictObject({ identity: Identity, deviceId: DeviceId }),
  /** The app's key name (the record id is derived from it). */
  appKey: z.string().min(1).max(MAX_RECORD_KEY_BYTES),
  deleted: z.boolean(),
  content: RecordContent.nullable(),
  /**
   * A small value's JSON text again (base64, padded with spaces to a multiple of
   * INLINE_PAD_BYTES), so a reader needs no object GET; null for larger values and tombstones.
   */
  inline: z
    .base64()
    .max(Math.ceil(MAX_INLINE_VALUE_BYTES / 3) * 4)
    .nullable(),
});
export type RecordEnvelopeV1 = z.infer<typeof RecordEnvelopeV1>;

/** What the feed, a 409's head or a Sync pointer claim about a version (all untrusted until opened). */
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

/** The envelope's `inline` field for a value's JSON text (null when the value is too large). */
export function inlineValue(json: Buffer): string | null {
  if (json.length > MAX_INLINE_VALUE_BYTES) return null;
  const padded = Buffer.alloc(
    Math.max(INLINE_PAD_BYTES, Math.ceil(json.length / INLINE_PAD_BYTES) * INLINE_PAD_BYTES),
    0x20,
  );
  json.copy(padded);
  return padded.toString('base64');
}

/** The envelope's plaintext bytes (to be sealed; the caller zeroes them after sealing). */
export function encodeRecordEnvelope(envelope: RecordEnvelopeV1): Buffer {
  return boundedJson(
    RecordEnvelopeV1.parse(envelope),
    MAX_RECORD_ENVELOPE_JSON_BYTES,
    'The record envelope is too large.',
  );
}

/**
 * Reads an opened record envelope's plaintext: JSON (INTEGRITY), then kind and version
 * (FORMAT_UNSUPPORTED), then the strict schema (INTEGRITY).
 */
export function decodeRecordEnvelope(json: Buffer): RecordEnvelopeV1 {
  const raw = parseJson(json, 'The record envelope is not valid JSON.');
  const r = raw as { v?: unknown; kind?: unknown } | null;
  if (r?.kind !== 'record' || r.v !== RECORD_ENVELOPE_VERSION) {
    throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported record envelope.');
  }
  const parsed = RecordEnvelopeV1.safeParse(raw);
  if (!parsed.success) throw integrity('The record envelope is malformed.');
  return parsed.data;
}

/** Every binding of the envelope against the claim, the inline value and the sizes: INTEGRITY on any difference. */
export function checkRecordEnvelope(claim: VersionClaim, e: RecordEnvelopeV1): void {
  const same =
    e.groupId === claim.groupId &&
    e.recordId === claim.recordId &&
    e.versionId === claim.versionId &&
    e.parentVersionId === claim.parentVersionId &&
    e.pointerId === claim.pointerId &&
    e.sender.identity === claim.sender.identity &&
    e.sender.deviceId === claim.sender.deviceId &&
    e.deleted === claim.deleted &&
    e.deleted === (e.content === null) &&
    (e.content?.objectId ?? null) === claim.objectId;
  if (!same) throw integrity('The record envelope belongs to a different version, record, object or sender.');
  if (e.inline !== null) {
    // JSON allows trailing whitespace: the padding is spaces, the value's length is plainLength.
    const text = Buffer.from(e.inline, 'base64');
    const plainLength = e.content?.plainLength ?? -1;
    if (plainLength > text.length || text.subarray(plainLength).some((b) => b !== 0x20)) {
      throw integrity('The inline value does not match the record envelope.');
    }
  }
  if (e.content) {
    const { plainLength, paddedLength, segmentSize } = e.content;
    if (!validPadding(plainLength, paddedLength)) throw integrity('The record envelope has an invalid padded length.');
    if (claim.size !== storedSize(paddedLength, segmentSize)) {
      throw integrity('The stored object size does not match the record envelope.');
    }
  } else if (claim.size !== 0) {
    throw integrity('A tombstone claims a stored object.');
  }
}
