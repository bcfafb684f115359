import { z } from 'zod';
import { ConduitError } from '../errors.js';
import type { Endpoint } from '../ids.js';
import { DeviceId, GroupId, Identity, ObjectId, PointerId } from '../ids.js';
import { CONTAINER_VERSION, headerDigest } from './container/index.js';
import {
  base64Bytes,
  boundedJson,
  EnvelopeSegmentSize,
  integrity,
  parseJson,
  storedSize,
  validPadding,
} from './sealed-json.js';
import { MAX_ENVELOPE_CHARS, type PointerV1 } from './pointer.js';

/** The file's metadata inside the sealed envelope (names and types never travel in the clear). */
export const FileMeta = z.strictObject({
  name: z.string().min(1).max(255),
  type: z.string().min(1).max(127),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type FileMeta = z.infer<typeof FileMeta>;

/**
 * Envelope v3: plaintext of the sealed envelope (before E3Kit `group.encrypt`, which also signs it
 * with the sender's key): the content key and parameters of a container v1 object (docs/format.md
 * section 10). Signed with it is everything a receiver relies on: the sending endpoint (identity
 * AND device), the group, the pointer, the object, the lengths and the container header digest
 * (which, with per-segment AEAD, authenticates the content). So neither the server nor a Sync peer
 * can move a valid envelope to another pointer, group, object or sender, nor claim another device.
 * Cross-field rules (paddedLength is plainLength or padme(plainLength), file.size equals
 * plainLength, every bound field equals the pointer's) are checkEnvelope's, after parsing.
 * v2 (no sender, no group) is refused: file envelopes only live in Sync items, never durably.
 */
export const MAX_ENVELOPE_JSON_BYTES = 2048;
export const ENVELOPE_VERSION = 3;
export const EnvelopeV3 = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  container: z.literal(CONTAINER_VERSION),
  key: base64Bytes(32),
  headerSha256: z.string().regex(/^[0-9a-f]{64}$/),
  sender: z.strictObject({ identity: Identity, deviceId: DeviceId }),
  groupId: GroupId,
  pointerId: PointerId,
  objectId: ObjectId,
  plainLength: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  paddedLength: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  segmentSize: EnvelopeSegmentSize,
  file: FileMeta,
});
export type EnvelopeV3 = z.infer<typeof EnvelopeV3>;

/** What the sender binds into an envelope (the content key and container header are secrets/bytes). */
export interface EnvelopeInput {
  sender: Endpoint;
  groupId: GroupId;
  pointerId: PointerId;
  objectId: ObjectId;
  contentKey: Buffer;
  header: Buffer;
  plainLength: number;
  paddedLength: number;
  segmentSize: number;
  file: Omit<FileMeta, 'size'>;
}

/** The envelope's plaintext bytes (to be sealed; the caller zeroes them after sealing). */
export function encodeEnvelope(input: EnvelopeInput): Buffer {
  const envelope: EnvelopeV3 = EnvelopeV3.parse({
    v: ENVELOPE_VERSION,
    container: CONTAINER_VERSION,
    key: input.contentKey.toString('base64'),
    headerSha256: headerDigest(input.header).toString('hex'),
    sender: { identity: input.sender.identity, deviceId: input.sender.deviceId },
    groupId: input.groupId,
    pointerId: input.pointerId,
    objectId: input.objectId,
    plainLength: input.plainLength,
    paddedLength: input.paddedLength,
    segmentSize: input.segmentSize,
    file: { ...input.file, size: input.plainLength },
  });
  return boundedJson(envelope, MAX_ENVELOPE_JSON_BYTES, 'The file name or type is too long for the envelope.');
}

/** The sealed envelope (base64) must fit a pointer; returned unchanged when it does. */
export function checkSealedSize(sealedBase64: string): string {
  if (sealedBase64.length > MAX_ENVELOPE_CHARS) {
    throw new ConduitError('VALIDATION_FAILED', `The sealed envelope exceeds ${MAX_ENVELOPE_CHARS} characters.`);
  }
  return sealedBase64;
}

/**
 * Reads an opened envelope's plaintext (the signature was checked when it was opened): JSON
 * (INTEGRITY), then the version (FORMAT_UNSUPPORTED), then the strict schema (INTEGRITY).
 */
export function decodeEnvelope(json: Buffer): EnvelopeV3 {
  const raw = parseJson(json, 'The envelope is not valid JSON.');
  if ((raw as { v?: unknown } | null)?.v !== ENVELOPE_VERSION) {
    throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported envelope version.');
  }
  const parsed = EnvelopeV3.safeParse(raw);
  if (!parsed.success) throw integrity('The envelope is malformed.');
  return parsed.data;
}

/** An opened, fully checked envelope: everything the container decryption needs. */
export interface OpenedEnvelope {
  /** The signed sending endpoint (equal to the pointer's); its device still needs checking. */
  sender: Endpoint;
  contentKey: Buffer;
  headerDigest: Buffer;
  plainLength: number;
  paddedLength: number;
  segmentSize: number;
  file: FileMeta;
}

/**
 * §10's receiver checks after the schema, in order: signed sender equals the pointer's
 * (SENDER_MISMATCH) -> group and ids -> lengths -> stored size (INTEGRITY).
 */
export function checkEnvelope(pointer: PointerV1, envelope: EnvelopeV3): OpenedEnvelope {
  if (envelope.sender.identity !== pointer.sender.identity || envelope.sender.deviceId !== pointer.sender.deviceId) {
    throw new ConduitError('SENDER_MISMATCH', 'The envelope was sealed for another sending device.');
  }
  if (
    envelope.groupId !== pointer.groupId ||
    envelope.pointerId !== pointer.id ||
    envelope.objectId !== pointer.objectId
  ) {
    throw integrity('The envelope belongs to a different group, pointer or object.');
  }
  const { plainLength, paddedLength, segmentSize } = envelope;
  if (!validPadding(plainLength, paddedLength)) throw integrity('The envelope has an invalid padded length.');
  if (envelope.file.size !== plainLength) throw integrity('The envelope sizes disagree.');
  if (pointer.size !== storedSize(paddedLength, segmentSize)) {
    throw integrity('The stored object size does not match the envelope.');
  }
  return {
    sender: envelope.sender,
    contentKey: Buffer.from(envelope.key, 'base64'),
    headerDigest: Buffer.from(envelope.headerSha256, 'hex'),
    plainLength,
    paddedLength,
    segmentSize,
    file: envelope.file,
  };
}
