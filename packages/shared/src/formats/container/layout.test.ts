import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../../errors.js';
import {
  ciphertextSize,
  CONTAINER_HEADER_LENGTH,
  createHeader,
  headerDigest,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  padme,
  parseHeader,
  segmentCount,
  segmentRangeFor,
} from './index.js';

const S = MIN_SEGMENT_SIZE;
const SALT = Buffer.alloc(32, 0xab);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ConduitError ? err.code : `foreign error: ${String(err)}`;
  }
  return undefined;
}

describe('header', () => {
  it('serializes every byte as documented', () => {
    const header = createHeader(0x00123456, SALT);
    expect(header.bytes.length).toBe(CONTAINER_HEADER_LENGTH);
    expect(header.bytes.toString('hex')).toBe('434e4454' + '01' + '01' + '00123456' + 'ab'.repeat(32));
    const parsed = parseHeader(header.bytes);
    expect(parsed.segmentSize).toBe(0x00123456);
    expect(parsed.salt.equals(SALT)).toBe(true);
  });

  it('draws a fresh random salt by default', () => {
    expect(createHeader().salt.equals(createHeader().salt)).toBe(false);
    expect(createHeader().segmentSize).toBe(1024 * 1024);
  });

  it('rejects bad parameters, unknown formats and corrupt v1 headers with distinct codes', () => {
    const good = createHeader(S, SALT).bytes;
    const edit = (offset: number, value: number) => {
      const copy = Buffer.from(good);
      copy[offset] = value;
      return copy;
    };
    expect(codeOf(() => createHeader(S - 1))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => createHeader(MAX_SEGMENT_SIZE + 1))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => createHeader(S + 0.5))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => createHeader(S, Buffer.alloc(31)))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => parseHeader(good.subarray(0, 41)))).toBe('INTEGRITY');
    expect(codeOf(() => parseHeader(edit(0, 0x63)))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => parseHeader(edit(4, 2)))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => parseHeader(edit(5, 0)))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => parseHeader(edit(7, 0)))).toBe('INTEGRITY'); // 0x00000000: below the minimum
    expect(codeOf(() => parseHeader(edit(6, 1)))).toBe('INTEGRITY'); // 0x01010000: above the maximum
    expect(codeOf(() => parseHeader(Buffer.concat([good, Buffer.alloc(5)])))).toBeUndefined(); // segments follow
  });

  it('digests the 42 header bytes with SHA-256', () => {
    const header = createHeader(S, SALT);
    expect(headerDigest(header).equals(createHash('sha256').update(header.bytes).digest())).toBe(true);
    expect(headerDigest(header.bytes).equals(headerDigest(header))).toBe(true);
    expect(codeOf(() => headerDigest(Buffer.alloc(43)))).toBe('VALIDATION_FAILED');
  });
});

describe('sizes and ranges', () => {
  it('computes the stored size: header + stream + 16 bytes per segment, the empty stream being one segment', () => {
    expect(ciphertextSize(0, S)).toBe(42 + 16);
    expect(ciphertextSize(1, S)).toBe(42 + 1 + 16);
    expect(ciphertextSize(S - 1, S)).toBe(42 + S - 1 + 16);
    expect(ciphertextSize(S, S)).toBe(42 + S + 16);
    expect(ciphertextSize(S + 1, S)).toBe(42 + S + 1 + 32);
    expect(ciphertextSize(2 ** 40, 2 ** 20)).toBe(42 + 2 ** 40 + 16 * 2 ** 20);
  });

  it('limits an object to 2^32 segments', () => {
    expect(segmentCount(2 ** 32 * S, S)).toBe(2 ** 32);
    expect(codeOf(() => segmentCount(2 ** 32 * S + 1, S))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => segmentCount(-1, S))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => segmentCount(1.5, S))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => segmentCount(1, 1000))).toBe('VALIDATION_FAILED');
  });

  it('maps plaintext ranges to the exact stored bytes of the covering segments', () => {
    const T = S + 16;
    expect(segmentRangeFor(0, 1, S)).toEqual({ firstSegment: 0, lastSegment: 0, cipherStart: 42, cipherEnd: 42 + T });
    expect(segmentRangeFor(S - 1, S + 1, S)).toEqual({
      firstSegment: 0,
      lastSegment: 1,
      cipherStart: 42,
      cipherEnd: 42 + 2 * T,
    });
    expect(segmentRangeFor(S, 2 * S, S)).toEqual({
      firstSegment: 1,
      lastSegment: 1,
      cipherStart: 42 + T,
      cipherEnd: 42 + 2 * T,
    });
    // With the stream length, the short final segment ends exactly at the object's end.
    const length = 3 * S + 5;
    expect(segmentRangeFor(3 * S, 3 * S + 5, S, length)).toEqual({
      firstSegment: 3,
      lastSegment: 3,
      cipherStart: 42 + 3 * T,
      cipherEnd: ciphertextSize(length, S),
    });
    expect(codeOf(() => segmentRangeFor(5, 5, S))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => segmentRangeFor(0, length + 1, S, length))).toBe('VALIDATION_FAILED');
  });
});

describe('padme', () => {
  it('matches hand-computed values of Algorithm 1', () => {
    const known: [number, number][] = [
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 3],
      [5, 5],
      [9, 10],
      [100, 104],
      [1000, 1024],
      [70_000, 71_680],
      [1_000_000, 1_015_808],
      [2 ** 20 + 1, 2 ** 20 + 2 ** 15],
      [2 ** 32 + 1, 2 ** 32 + 2 ** 26],
      [5 * 1024 ** 3, 5 * 1024 ** 3],
    ];
    for (const [length, padded] of known) expect([length, padme(length)]).toEqual([length, padded]);
  });

  it('never shrinks, costs at most 12%, is monotonic and idempotent', () => {
    let previous = 0;
    for (let length = 0; length < 100_000; length += 13) {
      const padded = padme(length);
      expect(padded >= length && padded <= length * 1.12 + 1 && padded >= previous).toBe(true);
      expect(padme(padded)).toBe(padded);
      previous = padded;
    }
    expect(codeOf(() => padme(-1))).toBe('VALIDATION_FAILED');
  });
});
