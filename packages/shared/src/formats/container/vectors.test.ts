import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../../errors.js';
import { createEncryptStream, decryptBuffer, encryptBuffer, headerDigest, parseHeader } from './index.js';
import { deriveKeyMaterial } from './key.js';

/**
 * Known-answer vectors from packages/shared/vectors/container-v1.json, produced by an independent
 * WebCrypto implementation of docs/format.md (vectors/generate-container-v1.mjs). This test only
 * reads them: if the implementation drifts from the format, it fails.
 */
interface ValidVector {
  name: string;
  contentKey: string;
  salt: string;
  segmentSize: number;
  plainLength: number;
  paddedLength: number;
  header: string;
  headerDigest: string;
  subkey: string;
  noncePrefix: string;
  ciphertextLength: number;
  ciphertextSha256: string;
  tags: string[];
  ciphertext?: string;
}
interface InvalidVector {
  name: string;
  contentKey: string;
  plainLength: number;
  ciphertext: string;
  error: string;
}

const file = new URL('../../../vectors/container-v1.json', import.meta.url);
const { valid, invalid } = JSON.parse(readFileSync(file, 'utf8')) as { valid: ValidVector[]; invalid: InvalidVector[] };
const hex = (value: string) => Buffer.from(value, 'hex');
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

function plaintextOf(length: number): Buffer {
  const plaintext = Buffer.alloc(length);
  for (let i = 0; i < length; i++) plaintext[i] = i % 251;
  return plaintext;
}

/** The last 16 bytes of every stored segment, located with the vector's own lengths. */
function tagsOf(ciphertext: Buffer, segmentSize: number): string[] {
  const tags: string[] = [];
  for (let offset = 42; offset < ciphertext.length; offset += segmentSize + 16) {
    const end = Math.min(offset + segmentSize + 16, ciphertext.length);
    tags.push(ciphertext.subarray(end - 16, end).toString('hex'));
  }
  return tags;
}

describe('container v1 known-answer vectors', () => {
  it('covers the documented cases', () => {
    expect(valid.length).toBeGreaterThanOrEqual(13);
    expect(invalid.length).toBeGreaterThanOrEqual(7);
  });

  describe.each(valid.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const contentKey = hex(v.contentKey);
    const options = { contentKey, salt: hex(v.salt), segmentSize: v.segmentSize, padToLength: v.paddedLength };
    const plaintext = plaintextOf(v.plainLength);

    it('derives the documented subkey, nonce prefix and header digest', () => {
      const header = parseHeader(hex(v.header));
      const { subkey, noncePrefix } = deriveKeyMaterial(contentKey, header);
      expect(subkey.toString('hex')).toBe(v.subkey);
      expect(noncePrefix.toString('hex')).toBe(v.noncePrefix);
      expect(headerDigest(header).toString('hex')).toBe(v.headerDigest);
    });

    it('encrypts to the exact bytes (buffer and stream) and decrypts back', async () => {
      const ciphertext = encryptBuffer(plaintext, options);
      expect(ciphertext.subarray(0, 42).toString('hex')).toBe(v.header);
      expect(ciphertext.length).toBe(v.ciphertextLength);
      expect(tagsOf(ciphertext, v.segmentSize)).toEqual(v.tags);
      expect(sha256(ciphertext)).toBe(v.ciphertextSha256);
      if (v.ciphertext !== undefined) expect(ciphertext.toString('hex')).toBe(v.ciphertext);

      const streamed = Buffer.concat(await createEncryptStream(options).end(plaintext).toArray());
      expect(sha256(streamed)).toBe(v.ciphertextSha256);

      const decrypted = decryptBuffer(ciphertext, {
        contentKey,
        plainLength: v.plainLength,
        paddedLength: v.paddedLength,
      });
      expect(decrypted.equals(plaintext)).toBe(true);
    });
  });

  it.each(invalid.map((v) => [v.name, v] as const))('rejects: %s', (_name, v) => {
    const attempt = () =>
      decryptBuffer(hex(v.ciphertext), { contentKey: hex(v.contentKey), plainLength: v.plainLength });
    expect(attempt).toThrow(ConduitError);
    expect(attempt).toThrow(expect.objectContaining({ code: v.error }));
  });
});
