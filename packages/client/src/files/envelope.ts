import {
  ciphertextSize,
  ConduitError,
  ENVELOPE_VERSION,
  EnvelopeV3,
  headerDigest,
  MAX_ENVELOPE_CHARS,
  MAX_ENVELOPE_JSON_BYTES,
  padme,
} from '@conduit/shared';
import type { Endpoint, FileMeta, GroupId, ObjectId, PointerId, PointerV1 } from '@conduit/shared';

/**
 * Sealed envelope v3 (docs/format.md §10): the content key and container parameters of one object,
 * encrypted and signed with the group cipher so only members can read it and only the claimed
 * sender can have written it. It binds the key to one sending endpoint, group, pointer and object.
 */

/** The group cipher as the envelope needs it (E3Kit `group.encrypt` / `group.decrypt` bound to a sender card). */
export type EncryptEnvelope = (plaintext: Buffer) => Promise<Buffer>;
export type DecryptEnvelope = (sealed: Buffer) => Promise<Buffer>;

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

/** Returns the base64 sealed envelope for the pointer. */
export async function sealEnvelope(input: EnvelopeInput, encrypt: EncryptEnvelope): Promise<string> {
  const envelope: EnvelopeV3 = EnvelopeV3.parse({
    v: ENVELOPE_VERSION,
    container: 1,
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
  const json = Buffer.from(JSON.stringify(envelope));
  try {
    if (json.length > MAX_ENVELOPE_JSON_BYTES) {
      throw new ConduitError('VALIDATION_FAILED', 'The file name or type is too long for the envelope.');
    }
    const sealed = (await encrypt(json)).toString('base64');
    if (sealed.length > MAX_ENVELOPE_CHARS) {
      throw new ConduitError('VALIDATION_FAILED', `The sealed envelope exceeds ${MAX_ENVELOPE_CHARS} characters.`);
    }
    return sealed;
  } finally {
    json.fill(0);
  }
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
 * Opens a pointer's envelope and applies §10's receiver checks in order: signature (inside
 * `decrypt`, SENDER_MISMATCH) -> version (FORMAT_UNSUPPORTED) -> strict schema -> signed sender
 * equals the pointer's (SENDER_MISMATCH) -> group and ids -> lengths -> stored size. INTEGRITY otherwise.
 */
export async function openEnvelope(pointer: PointerV1, decrypt: DecryptEnvelope): Promise<OpenedEnvelope> {
  let json: Buffer;
  try {
    json = await decrypt(Buffer.from(pointer.envelope, 'base64'));
  } catch (err) {
    if (err instanceof ConduitError) throw err;
    throw integrity('The envelope could not be decrypted.', err);
  }
  let envelope: EnvelopeV3;
  try {
    let raw: unknown;
    try {
      raw = JSON.parse(json.toString('utf8'));
    } catch {
      throw integrity('The envelope is not valid JSON.');
    }
    if ((raw as { v?: unknown } | null)?.v !== ENVELOPE_VERSION) {
      throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported envelope version.');
    }
    const parsed = EnvelopeV3.safeParse(raw);
    if (!parsed.success) throw integrity('The envelope is malformed.');
    envelope = parsed.data;
  } finally {
    json.fill(0);
  }
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
  if (paddedLength !== plainLength && paddedLength !== padme(plainLength)) {
    throw integrity('The envelope has an invalid padded length.');
  }
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

/** ciphertextSize, or -1 for lengths no container can have (never equal to a pointer's size). */
function storedSize(paddedLength: number, segmentSize: number): number {
  try {
    return ciphertextSize(paddedLength, segmentSize);
  } catch {
    return -1;
  }
}

const integrity = (message: string, cause?: unknown): ConduitError =>
  new ConduitError('INTEGRITY', message, undefined, cause === undefined ? undefined : { cause });
