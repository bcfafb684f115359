import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../../errors.js';
import {
  decryptRange,
  decryptSegments,
  encryptBuffer,
  MIN_SEGMENT_SIZE,
  padme,
  segmentRangeFor,
  type RangeDecryptOptions,
  type RangeReader,
} from './index.js';

const S = MIN_SEGMENT_SIZE;
const T = S + 16;
const key = randomBytes(32);
const plaintext = randomBytes(5 * S + 1234);
const paddedLength = padme(plaintext.length);
const object = encryptBuffer(plaintext, { contentKey: key, segmentSize: S, padToLength: paddedLength });
const header = object.subarray(0, 42);

/** A reader over `data` that records every request, like ranged GETs against S3. */
function recorder(data: Buffer) {
  const calls: [number, number][] = [];
  const read: RangeReader = async (start, end) => {
    calls.push([start, end]);
    return data.subarray(start, end);
  };
  return { calls, read, bytes: () => calls.reduce((sum, [start, end]) => sum + end - start, 0) };
}

function options(read: RangeReader, extra: Partial<RangeDecryptOptions> = {}): RangeDecryptOptions {
  return { contentKey: key, plainLength: plaintext.length, paddedLength, read, ...extra };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return err instanceof ConduitError ? err.code : `foreign error: ${String(err)}`;
  }
  return undefined;
}

/** xorshift32 with a fixed seed. */
function prng(seed: number): (max: number) => number {
  let state = seed;
  return (max) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % max;
  };
}

describe('range decryption', () => {
  it('covers a padded object', () => {
    expect(paddedLength).toBeGreaterThan(plaintext.length);
  });

  const random = prng(0xa11ce);
  const ranges: [number, number][] = [
    [0, 1],
    [0, S],
    [S - 1, S + 1],
    [S, 2 * S],
    [2 * S + 5, 4 * S - 5],
    [5 * S, plaintext.length],
    [plaintext.length - 1, plaintext.length],
    [0, plaintext.length],
  ];
  for (let i = 0; i < 20; i++) {
    const start = random(plaintext.length);
    ranges.push([start, start + 1 + random(plaintext.length - start)]);
  }

  it.each(ranges)('[%i, %i) equals the plaintext slice and reads only the covering segments', async (start, end) => {
    const expected = plaintext.subarray(start, end);
    const covering = segmentRangeFor(start, end, S, paddedLength);

    const cold = recorder(object);
    expect((await decryptRange({ ...options(cold.read), start, end })).equals(expected)).toBe(true);
    expect(cold.calls).toEqual([
      [0, 42],
      [covering.cipherStart, covering.cipherEnd],
    ]);
    expect(cold.bytes()).toBe(42 + covering.cipherEnd - covering.cipherStart);
    expect(covering.cipherEnd - covering.cipherStart).toBeLessThanOrEqual(
      (covering.lastSegment - covering.firstSegment + 1) * T,
    );

    const warm = recorder(object);
    expect((await decryptRange({ ...options(warm.read, { header }), start, end })).equals(expected)).toBe(true);
    expect(warm.calls).toEqual([[covering.cipherStart, covering.cipherEnd]]);
  });

  it('reads nothing for an empty range and validates bounds', async () => {
    const { calls, read } = recorder(object);
    expect((await decryptRange({ ...options(read), start: 7, end: 7 })).length).toBe(0);
    expect(calls).toEqual([]);
    expect(await codeOf(decryptRange({ ...options(read), start: 0, end: plaintext.length + 1 }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await codeOf(decryptRange({ ...options(read), start: 5, end: 4 }))).toBe('VALIDATION_FAILED');
  });

  it('yields segments one read each with decryptSegments, cutting the padding off the last', async () => {
    const { calls, read } = recorder(object);
    const pieces: Buffer[] = [];
    for await (const piece of decryptSegments({ ...options(read, { header }), firstSegment: 2, lastSegment: 5 })) {
      pieces.push(piece);
    }
    expect(pieces.map((p) => p.length)).toEqual([S, S, S, 1234]);
    expect(Buffer.concat(pieces).equals(plaintext.subarray(2 * S))).toBe(true);
    expect(calls.length).toBe(4);
    expect(calls[0]).toEqual([42 + 2 * T, 42 + 3 * T]);
    expect(await codeOf(decryptSegments({ ...options(read), firstSegment: 0, lastSegment: 6 }).next())).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('authenticates the single empty segment of an empty object', async () => {
    const empty = encryptBuffer(Buffer.alloc(0), { contentKey: key, segmentSize: S });
    const { calls, read } = recorder(empty);
    const pieces: Buffer[] = [];
    for await (const piece of decryptSegments({
      contentKey: key,
      plainLength: 0,
      read,
      firstSegment: 0,
      lastSegment: 0,
    })) {
      pieces.push(piece);
    }
    expect(pieces.map((p) => p.length)).toEqual([0]);
    expect(calls).toEqual([
      [0, 42],
      [42, 58],
    ]);
    const forged = recorder(Buffer.concat([empty.subarray(0, 42), Buffer.alloc(16)]));
    const attempt = decryptSegments({
      contentKey: key,
      plainLength: 0,
      read: forged.read,
      firstSegment: 0,
      lastSegment: 0,
    });
    expect(await codeOf(attempt.next())).toBe('INTEGRITY');
  });

  it('ignores damage outside the range and rejects damage inside it', async () => {
    const damaged = Buffer.from(object);
    damaged[42 + 3 * T + 100] = (damaged[42 + 3 * T + 100] as number) ^ 1; // inside segment 3
    const { read } = recorder(damaged);
    expect((await decryptRange({ ...options(read), start: 0, end: 3 * S })).equals(plaintext.subarray(0, 3 * S))).toBe(
      true,
    );
    expect(await codeOf(decryptRange({ ...options(read), start: 3 * S, end: 3 * S + 1 }))).toBe('INTEGRITY');
  });

  it('rejects short reads, a foreign header and a stored object with non-zero padding', async () => {
    const short: RangeReader = async (start, end) => object.subarray(start, end - 1);
    expect(await codeOf(decryptRange({ ...options(short), start: 0, end: 10 }))).toBe('INTEGRITY');

    const other = encryptBuffer(plaintext, { contentKey: key, segmentSize: S, padToLength: paddedLength });
    const { read } = recorder(object);
    expect(await codeOf(decryptRange({ ...options(read, { header: other.subarray(0, 42) }), start: 0, end: 10 }))).toBe(
      'INTEGRITY',
    );

    const stream = Buffer.alloc(paddedLength);
    plaintext.copy(stream);
    stream[paddedLength - 1] = 0xff;
    const dirty = encryptBuffer(stream, { contentKey: key, segmentSize: S });
    const tail = recorder(dirty);
    expect(await codeOf(decryptRange({ ...options(tail.read), start: 5 * S, end: 5 * S + 1 }))).toBe('INTEGRITY');
    expect((await decryptRange({ ...options(tail.read), start: 0, end: 10 })).equals(plaintext.subarray(0, 10))).toBe(
      true,
    );
  });
});
