import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConduitError, EnvelopeV1 } from '@conduit/shared';
import type { FileMeta, ObjectId, PointerId, PointerV1 } from '@conduit/shared';

/**
 * Skeleton file encryption (whole file in memory; a streaming container replaces it):
 * stored object = AES-256-GCM(ciphertext) || 16-byte tag under a fresh random key and nonce.
 * The key travels in an EnvelopeV1 that the group cipher encrypts and signs, so only group
 * members can read it and only the claimed sender can have written it.
 */
export const TAG_BYTES = 16;
/** In-memory sealing holds plaintext and ciphertext at once: keep both well inside a Buffer. */
export const MAX_SEALED_PLAINTEXT_BYTES = 512 * 1024 ** 2;

/** The group cipher as seal/open need it (E3Kit `group.encrypt` / `group.decrypt` bound to a sender card). */
export type EncryptEnvelope = (plaintext: Buffer) => Promise<Buffer>;
export type DecryptEnvelope = (sealed: Buffer) => Promise<Buffer>;

export interface SealInput {
  pointerId: PointerId;
  objectId: ObjectId;
  plaintext: Buffer;
  file: FileMeta;
}

export interface Sealed {
  /** The bytes to store: ciphertext || tag. */
  object: Buffer;
  /** Base64 of the sealed envelope, as it goes into the pointer. */
  envelope: string;
}

export async function sealFile(input: SealInput, encryptEnvelope: EncryptEnvelope): Promise<Sealed> {
  if (input.plaintext.length > MAX_SEALED_PLAINTEXT_BYTES) {
    throw new ConduitError(
      'PAYLOAD_TOO_LARGE',
      `Files over ${MAX_SEALED_PLAINTEXT_BYTES} bytes are not supported yet.`,
    );
  }
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const object = Buffer.concat([cipher.update(input.plaintext), cipher.final(), cipher.getAuthTag()]);
    const envelope: EnvelopeV1 = EnvelopeV1.parse({
      v: 1,
      alg: 'A256GCM',
      key: key.toString('base64'),
      nonce: nonce.toString('base64'),
      pointerId: input.pointerId,
      objectId: input.objectId,
      ciphertextSha256: sha256Hex(object),
      file: input.file,
    });
    const json = Buffer.from(JSON.stringify(envelope));
    try {
      const sealed = await encryptEnvelope(json);
      return { object, envelope: sealed.toString('base64') };
    } finally {
      json.fill(0);
    }
  } finally {
    key.fill(0);
  }
}

export interface Opened {
  plaintext: Buffer;
  file: FileMeta;
}

/**
 * Verifies everything before releasing plaintext: the envelope's signature (inside
 * `decryptEnvelope`), its binding to this pointer and object, the stored size and hash, and the
 * GCM tag. Any failure is INTEGRITY (or SENDER_MISMATCH from `decryptEnvelope`).
 */
export async function openFile(pointer: PointerV1, object: Buffer, decryptEnvelope: DecryptEnvelope): Promise<Opened> {
  const envelope = await openEnvelope(pointer, decryptEnvelope);
  const key = Buffer.from(envelope.key, 'base64');
  try {
    if (envelope.pointerId !== pointer.id || envelope.objectId !== pointer.objectId) {
      throw integrity('The envelope belongs to a different pointer or object.');
    }
    if (object.length !== pointer.size || object.length !== envelope.file.size + TAG_BYTES) {
      throw integrity('The stored object has an unexpected size.');
    }
    const expected = Buffer.from(envelope.ciphertextSha256, 'hex');
    if (!timingSafeEqual(createHash('sha256').update(object).digest(), expected)) {
      throw integrity('The stored object does not match the envelope hash.');
    }
    const body = object.subarray(0, object.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.nonce, 'base64'));
    decipher.setAuthTag(object.subarray(object.length - TAG_BYTES));
    const plaintext = decipher.update(body);
    try {
      decipher.final();
    } catch {
      plaintext.fill(0);
      throw integrity('The stored object failed authentication.');
    }
    return { plaintext, file: envelope.file };
  } finally {
    key.fill(0);
  }
}

async function openEnvelope(pointer: PointerV1, decryptEnvelope: DecryptEnvelope): Promise<EnvelopeV1> {
  let json: Buffer;
  try {
    json = await decryptEnvelope(Buffer.from(pointer.envelope, 'base64'));
  } catch (err) {
    if (err instanceof ConduitError) throw err;
    throw integrity('The envelope could not be decrypted.', err);
  }
  try {
    let raw: unknown;
    try {
      raw = JSON.parse(json.toString('utf8'));
    } catch {
      throw integrity('The envelope is not valid JSON.');
    }
    if ((raw as { v?: unknown } | null)?.v !== 1) {
      throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported envelope version.');
    }
    const parsed = EnvelopeV1.safeParse(raw);
    if (!parsed.success) throw integrity('The envelope is malformed.');
    return parsed.data;
  } finally {
    json.fill(0);
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const integrity = (message: string, cause?: unknown): ConduitError =>
  new ConduitError('INTEGRITY', message, undefined, cause === undefined ? undefined : { cause });
