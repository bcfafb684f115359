import { createHash } from 'node:crypto';

/**
 * Safety numbers, on the model of Signal's numeric fingerprints: each party's public key and
 * identity are hashed (SHA-512, iterated) into 30 digits; the safety number is both parties'
 * digits, the smaller first, so both ends compute the same 60 digits. Compared out of band
 * (read aloud, side by side), equal numbers mean each end holds the other's real key.
 */
const FINGERPRINT_VERSION = 0;
const ITERATIONS = 5200;
const DIGIT_CHUNKS = 6;
const CHUNK_BYTES = 5;

export interface Party {
  identity: string;
  /** The exported public key (as on the Virgil card). */
  publicKey: Buffer;
}

/** 30 digits for one party: iterated SHA-512 over version || key || identity, then hash(prev || key). */
export function fingerprintDigits({ identity, publicKey }: Party): string {
  const version = Buffer.alloc(2);
  version.writeUInt16BE(FINGERPRINT_VERSION);
  let hash = createHash('sha512').update(version).update(publicKey).update(identity, 'utf8').digest();
  for (let i = 1; i < ITERATIONS; i++) hash = createHash('sha512').update(hash).update(publicKey).digest();
  let digits = '';
  for (let c = 0; c < DIGIT_CHUNKS; c++) {
    const chunk = hash.readUIntBE(c * CHUNK_BYTES, CHUNK_BYTES); // 40 bits: exact in a double
    digits += String(chunk % 100_000).padStart(5, '0');
  }
  return digits;
}

/** The 60-digit safety number of two parties (order-independent). */
export function safetyNumber(a: Party, b: Party): string {
  const [x, y] = [fingerprintDigits(a), fingerprintDigits(b)].sort();
  return `${x}${y}`;
}

/** Digits in groups of five, space-separated (12 groups for a safety number). */
export function groupDigits(digits: string): string {
  return digits.match(/.{1,5}/g)?.join(' ') ?? '';
}
