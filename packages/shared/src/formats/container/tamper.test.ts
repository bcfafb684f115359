import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../../errors.js';
import {
  ciphertextSize,
  createDecryptStream,
  decryptBuffer,
  encryptBuffer,
  headerDigest,
  MIN_SEGMENT_SIZE,
  SegmentDecryptor,
  segmentCount,
  type DecryptOptions,
} from './index.js';

/**
 * Every attack of docs/format.md §9 against a 3-segment object, via the buffer and stream
 * decryptors. Lengths normally come from the sealed envelope; where an attack changes the
 * object's size, the test also hands the decryptor the length that matches the forged object,
 * so the cryptography (not only the length check) must catch it.
 */

const S = MIN_SEGMENT_SIZE;
const T = S + 16;
const H = 42;
const key = randomBytes(32);
const salt = randomBytes(32);
const plaintext = randomBytes(2 * S + 1000);
const object = encryptBuffer(plaintext, { contentKey: key, segmentSize: S, salt });
const honest: DecryptOptions = { contentKey: key, plainLength: plaintext.length };
const segment = (data: Buffer, i: number) => data.subarray(H + i * T, Math.min(H + (i + 1) * T, data.length));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ConduitError ? err.code : `foreign error: ${String(err)}`;
  }
  return undefined;
}

/** The plaintext length an attacker would claim for a forged object of `size` bytes, if any is consistent. */
function lengthFor(size: number): number | undefined {
  const body = size - H;
  if (body < 16) return undefined;
  const count = Math.ceil(body / T);
  const length = body - 16 * count;
  return length >= 0 && segmentCount(length, S) === count ? length : undefined;
}

/** Decrypts with the envelope's lengths and, if different and consistent, with the forged object's own length. */
function codesFor(forged: Buffer): string[] {
  const codes = [codeOf(() => decryptBuffer(forged, honest)) ?? 'accepted'];
  const length = lengthFor(forged.length);
  if (length !== undefined && length !== plaintext.length) {
    codes.push(codeOf(() => decryptBuffer(forged, { contentKey: key, plainLength: length })) ?? 'accepted');
  }
  return codes;
}

async function streamDecrypt(data: Buffer, options: DecryptOptions, chunkSize = 1000) {
  const out: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  let code: string | undefined;
  try {
    await pipeline(
      Readable.from(chunks),
      createDecryptStream(options),
      new Writable({
        write(piece: Buffer, _encoding, done) {
          out.push(piece);
          done();
        },
      }),
    );
  } catch (err) {
    code = err instanceof ConduitError ? err.code : `foreign error: ${String(err)}`;
  }
  return { code, emitted: Buffer.concat(out) };
}

/** xorshift32 with a fixed seed: the sampled bit positions are the same on every run. */
function prng(seed: number): (max: number) => number {
  let state = seed;
  return (max) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % max;
  };
}

function flip(data: Buffer, bit: number): Buffer {
  const copy = Buffer.from(data);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

describe('tamper detection', () => {
  it('decrypts the untouched object (control)', async () => {
    expect(decryptBuffer(object, honest).equals(plaintext)).toBe(true);
    expect((await streamDecrypt(object, honest)).emitted.equals(plaintext)).toBe(true);
  });

  it('rejects every single-bit flip of the header', () => {
    const unexpected: string[] = [];
    for (let bit = 0; bit < H * 8; bit++) {
      // Magic, version and algorithm edits read as another format; the rest fail authentication.
      const expected = bit < 6 * 8 ? 'FORMAT_UNSUPPORTED' : 'INTEGRITY';
      const code = codeOf(() => decryptBuffer(flip(object, bit), honest));
      if (code !== expected) unexpected.push(`bit ${bit}: ${code}`);
    }
    expect(unexpected).toEqual([]);
  });

  it('rejects single-bit flips across every segment: all tag and edge bits, plus a seeded sample', () => {
    const random = prng(0x5eed);
    const bits = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const start = H + i * T;
      const end = Math.min(start + T, object.length);
      for (let byte = start; byte < start + 64; byte++) for (let b = 0; b < 8; b++) bits.add(byte * 8 + b);
      for (let byte = end - 16 - 64; byte < end; byte++) for (let b = 0; b < 8; b++) bits.add(byte * 8 + b); // incl. tag
      for (let n = 0; n < 600; n++) bits.add(start * 8 + random((end - start) * 8));
    }
    const accepted = [...bits].filter((bit) => codeOf(() => decryptBuffer(flip(object, bit), honest)) !== 'INTEGRITY');
    expect(bits.size).toBeGreaterThan(4000);
    expect(accepted).toEqual([]);
  });

  it('rejects every truncation point of a small object, with the envelope length and with the forged length', () => {
    const small = randomBytes(3000);
    const sealed = encryptBuffer(small, { contentKey: key, segmentSize: S });
    const unexpected: string[] = [];
    for (let cut = 0; cut < sealed.length; cut++) {
      const truncated = sealed.subarray(0, cut);
      const codes = [codeOf(() => decryptBuffer(truncated, { contentKey: key, plainLength: small.length }))];
      const length = lengthFor(cut);
      if (length !== undefined)
        codes.push(codeOf(() => decryptBuffer(truncated, { contentKey: key, plainLength: length })));
      if (codes.some((code) => code !== 'INTEGRITY')) unexpected.push(`cut ${cut}: ${codes.join(',')}`);
    }
    expect(unexpected).toEqual([]);
  });

  it('rejects every truncation point of the 3-segment object (forged lengths near boundaries and strided)', () => {
    const decryptor = new SegmentDecryptor({ contentKey: key, header: object });
    const nearBoundary = (cut: number) => [H, H + T, H + 2 * T, object.length].some((b) => Math.abs(cut - b) <= 64);
    const unexpected: string[] = [];
    for (let cut = 0; cut < object.length; cut++) {
      const truncated = object.subarray(0, cut);
      const codes = [codeOf(() => decryptBuffer(truncated, honest))];
      const length = lengthFor(cut);
      if (length !== undefined && (nearBoundary(cut) || cut % 101 === 0)) {
        // Segments before the cut are untouched, so the forged final segment is the one that must fail.
        const last = segmentCount(length, S) - 1;
        codes.push(codeOf(() => decryptor.decryptSegment(last, truncated.subarray(H + last * T), true)));
      }
      if (codes.some((code) => code !== 'INTEGRITY')) unexpected.push(`cut ${cut}: ${codes.join(',')}`);
    }
    expect(unexpected).toEqual([]);
  });

  it('rejects every truncation point of the stream with INTEGRITY (sampled)', async () => {
    const cuts = [0, 1, 41, 42, 43, 57, 58, T, H + T - 1, H + T, H + T + 1, H + 2 * T, object.length - 1];
    for (let cut = 0; cut < object.length; cut += 9973) cuts.push(cut);
    for (const cut of cuts)
      expect([cut, (await streamDecrypt(object.subarray(0, cut), honest)).code]).toEqual([cut, 'INTEGRITY']);
  });

  it('rejects a dropped final segment even when the claimed length matches', () => {
    const dropped = object.subarray(0, H + 2 * T);
    expect(lengthFor(dropped.length)).toBe(2 * S);
    expect(codesFor(dropped)).toEqual(['INTEGRITY', 'INTEGRITY']);
  });

  it('rejects reordered segments', () => {
    const swapped = Buffer.concat([object.subarray(0, H), segment(object, 1), segment(object, 0), segment(object, 2)]);
    expect(codesFor(swapped)).toEqual(['INTEGRITY']);
    const decryptor = new SegmentDecryptor({ contentKey: key, header: object });
    expect(codeOf(() => decryptor.decryptSegment(1, segment(object, 0), false))).toBe('INTEGRITY');
  });

  it('rejects duplicated segments, in place and inserted', () => {
    const replaced = Buffer.concat([object.subarray(0, H), segment(object, 0), segment(object, 0), segment(object, 2)]);
    expect(codesFor(replaced)).toEqual(['INTEGRITY']);
    const inserted = Buffer.concat([object.subarray(0, H + 2 * T), segment(object, 1), segment(object, 2)]);
    expect(codesFor(inserted)).toEqual(['INTEGRITY', 'INTEGRITY']);
  });

  it('rejects trailing data after the final segment', async () => {
    const extended = Buffer.concat([object, Buffer.alloc(1)]);
    expect(codesFor(extended)).toEqual(['INTEGRITY', 'INTEGRITY']);
    expect((await streamDecrypt(extended, honest)).code).toBe('INTEGRITY');
  });

  it('rejects a segment spliced from another object with the same key but another salt', () => {
    const other = encryptBuffer(plaintext, { contentKey: key, segmentSize: S });
    const spliced = Buffer.concat([object.subarray(0, H), segment(object, 0), segment(other, 1), segment(object, 2)]);
    expect(codesFor(spliced)).toEqual(['INTEGRITY']);
    const otherHeader = Buffer.concat([other.subarray(0, H), object.subarray(H)]);
    expect(codesFor(otherHeader)).toEqual(['INTEGRITY']);
  });

  it('rejects header edits: segment size, salt, and a header that differs from the envelope digest', () => {
    const resized = Buffer.from(object);
    resized.writeUInt32BE(S + 1, 6);
    expect(codesFor(resized)).toEqual(['INTEGRITY']);
    const resalted = Buffer.from(object);
    resalted[20] = (resalted[20] as number) ^ 0xff;
    expect(codesFor(resalted)).toEqual(['INTEGRITY']);

    const digest = headerDigest(object.subarray(0, H));
    expect(decryptBuffer(object, { ...honest, headerDigest: digest }).equals(plaintext)).toBe(true);
    const otherDigest = headerDigest(encryptBuffer(Buffer.alloc(0), { contentKey: key }).subarray(0, H));
    expect(codeOf(() => decryptBuffer(object, { ...honest, headerDigest: otherDigest }))).toBe('INTEGRITY');
    expect(codeOf(() => new SegmentDecryptor({ contentKey: key, header: object, headerDigest: otherDigest }))).toBe(
      'INTEGRITY',
    );
  });

  it('rejects the wrong content key', () => {
    expect(codeOf(() => decryptBuffer(object, { ...honest, contentKey: randomBytes(32) }))).toBe('INTEGRITY');
  });

  it('rejects an object whose length disagrees with the envelope before doing any cryptography', () => {
    expect(ciphertextSize(plaintext.length, S)).toBe(object.length);
    expect(codeOf(() => decryptBuffer(object, { ...honest, plainLength: plaintext.length - 1 }))).toBe('INTEGRITY');
  });
});

describe('decrypt stream releases only authenticated plaintext', () => {
  it('emits nothing when the first segment is corrupted', async () => {
    for (const byte of [H, H + 5000, H + T - 1]) {
      const { code, emitted } = await streamDecrypt(flip(object, byte * 8), honest, 777);
      expect([byte, code, emitted.length]).toEqual([byte, 'INTEGRITY', 0]);
    }
  });

  it('emits exactly the verified segments before a corrupted one', async () => {
    const corrupted = flip(object, (H + 2 * T + 3) * 8);
    const { code, emitted } = await streamDecrypt(corrupted, honest, 4096);
    expect(code).toBe('INTEGRITY');
    expect(emitted.length).toBe(2 * S);
    expect(emitted.equals(plaintext.subarray(0, 2 * S))).toBe(true);
  });

  it('emits nothing for a header that differs from the envelope digest', async () => {
    const otherDigest = headerDigest(encryptBuffer(Buffer.alloc(0), { contentKey: key }).subarray(0, H));
    const { code, emitted } = await streamDecrypt(object, { ...honest, headerDigest: otherDigest });
    expect([code, emitted.length]).toEqual(['INTEGRITY', 0]);
  });
});
