import { checkEnvelope, checkSealedSize, ConduitError, decodeEnvelope, encodeEnvelope } from '@conduit/shared';
import type { EnvelopeInput, EnvelopeV3, OpenedEnvelope, PointerV1 } from '@conduit/shared';

/**
 * Sealed envelope v3 (docs/format.md §10): the content key and container parameters of one object,
 * encrypted and signed with the group cipher so only members can read it and only the claimed
 * sender can have written it. The format and its checks live in @conduit/shared (formats/envelope.ts);
 * this module only seals and opens it with the group cipher and zeroes the plaintext.
 */

/** The group cipher as the envelope needs it (E3Kit `group.encrypt` / `group.decrypt` bound to a sender card). */
export type EncryptEnvelope = (plaintext: Buffer) => Promise<Buffer>;
/**
 * `sentAt`: when the server says the sealed data was registered (a pointer's or record version's
 * createdAt). A deleted sender's retired card opens only what was sent before its revocation, and
 * nothing whose time is not given (GroupKeys.decryptorFor).
 */
export type DecryptEnvelope = (sealed: Buffer, sentAt?: string) => Promise<Buffer>;

/** Returns the base64 sealed envelope for the pointer. */
export async function sealEnvelope(input: EnvelopeInput, encrypt: EncryptEnvelope): Promise<string> {
  return sealJson(encodeEnvelope(input), encrypt);
}

/** Seals an envelope's plaintext (zeroed afterwards) and checks that it fits a pointer. */
export async function sealJson(json: Buffer, encrypt: EncryptEnvelope): Promise<string> {
  try {
    return checkSealedSize((await encrypt(json)).toString('base64'));
  } finally {
    json.fill(0);
  }
}

/**
 * Opens a pointer's envelope and applies §10's receiver checks in order: signature (inside
 * `decrypt`, SENDER_MISMATCH) -> version (FORMAT_UNSUPPORTED) -> strict schema -> signed sender
 * equals the pointer's (SENDER_MISMATCH) -> group and ids -> lengths -> stored size. INTEGRITY otherwise.
 */
export async function openEnvelope(pointer: PointerV1, decrypt: DecryptEnvelope): Promise<OpenedEnvelope> {
  const envelope: EnvelopeV3 = await openJson(
    pointer.envelope,
    decrypt,
    decodeEnvelope,
    'The envelope',
    pointer.createdAt,
  );
  return checkEnvelope(pointer, envelope);
}

/** Decrypts a sealed envelope (INTEGRITY when it cannot be) and decodes it, zeroing the plaintext. */
export async function openJson<T>(
  sealedBase64: string,
  decrypt: DecryptEnvelope,
  decode: (json: Buffer) => T,
  what: string,
  sentAt?: string,
): Promise<T> {
  let json: Buffer;
  try {
    json = await decrypt(Buffer.from(sealedBase64, 'base64'), sentAt);
  } catch (err) {
    if (err instanceof ConduitError) throw err;
    throw new ConduitError('INTEGRITY', `${what} could not be decrypted.`, undefined, { cause: err });
  }
  try {
    return decode(json);
  } finally {
    json.fill(0);
  }
}
