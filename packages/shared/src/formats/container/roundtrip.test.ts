import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../../errors.js';
import {
  ciphertextSize,
  createDecryptStream,
  createEncryptStream,
  decryptBuffer,
  DEFAULT_SEGMENT_SIZE,
  encryptBuffer,
  MAX_SEGMENT_SIZE,
  MIN_SEGMENT_SIZE,
  padme,
  SegmentDecryptor,
  SegmentEncryptor,
  type DecryptOptions,
  type EncryptOptions,
} from './index.js';

const S = MIN_SEGMENT_SIZE;
const key = randomBytes(32);
const salt = randomBytes(32);

/** Deterministic xorshift32 so failures reproduce. */
function prng(seed: number): (max: number) => number {
  let state = seed >>> 0 || 1;
  return (max) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % max;
  };
}

function chunk(data: Buffer, sizes: (i: number) => number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const size = Math.max(1, sizes(i));
    chunks.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

async function run(stream: NodeJS.ReadWriteStream, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    stream,
    new Writable({
      write(piece: Buffer, _encoding, done) {
        out.push(piece);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

async function codeOfAsync(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return err instanceof ConduitError ? err.code : `foreign error: ${String(err)}`;
  }
  return undefined;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ConduitError ? err.code : `foreign error: ${String(err)}`;
  }
  return undefined;
}

const random = prng(0xc0ffee);
const chunkings: [string, (i: number) => number][] = [
  ['one chunk', () => Number.MAX_SAFE_INTEGER],
  ['7-byte chunks', () => 7],
  ['4093-byte chunks', () => 4093],
  ['segment+1 chunks', () => S + 1],
  ['random chunks', () => 1 + random(3 * S)],
];

async function roundTrip(length: number, segmentSize: number, padToLength?: number): Promise<void> {
  const plaintext = randomBytes(length);
  const encOptions: EncryptOptions = { contentKey: key, segmentSize, salt, padToLength };
  const decOptions: DecryptOptions = { contentKey: key, plainLength: length, paddedLength: padToLength };
  const ciphertext = encryptBuffer(plaintext, encOptions);
  expect(ciphertext.length).toBe(ciphertextSize(padToLength ?? length, segmentSize));
  expect(decryptBuffer(ciphertext, decOptions).equals(plaintext)).toBe(true);

  for (const [, sizes] of chunkings) {
    // Tiny chunks over megabytes only add minutes, not coverage.
    if (length > 4 * S && sizes(0) < 4093) continue;
    const streamed = await run(createEncryptStream(encOptions), chunk(plaintext, sizes));
    expect(streamed.equals(ciphertext)).toBe(true);
    const decrypted = await run(createDecryptStream(decOptions), chunk(ciphertext, sizes));
    expect(decrypted.equals(plaintext)).toBe(true);
  }
}

describe('round trips', () => {
  it.each([0, 1, S - 1, S, S + 1, 2 * S, 3 * S + 17, 5 * S - 3])('%i bytes with 64 KiB segments', async (length) => {
    await roundTrip(length, S);
  });

  it.each([0, 1, 2.5 * DEFAULT_SEGMENT_SIZE])('%i bytes with default 1 MiB segments', async (length) => {
    await roundTrip(length, DEFAULT_SEGMENT_SIZE);
  });

  it.each([0, 1, MAX_SEGMENT_SIZE, MAX_SEGMENT_SIZE + 1])('%i bytes with max 8 MiB segments', async (length) => {
    await roundTrip(length, MAX_SEGMENT_SIZE);
  });

  it('uses a fresh random salt per object by default', () => {
    const plaintext = Buffer.from('same plaintext, same key');
    const a = encryptBuffer(plaintext, { contentKey: key });
    const b = encryptBuffer(plaintext, { contentKey: key });
    expect(a.subarray(10, 42).equals(b.subarray(10, 42))).toBe(false);
    expect(a.subarray(42).equals(b.subarray(42))).toBe(false);
  });

  it('exposes the header before any data so the envelope can bind its digest', async () => {
    const stream = createEncryptStream({ contentKey: key, segmentSize: S });
    const ciphertext = await run(stream, [Buffer.from('x')]);
    expect(stream.header.equals(ciphertext.subarray(0, 42))).toBe(true);
  });
});

describe('per-segment API', () => {
  it('builds an object from segments encrypted out of order, identical to the buffer API', () => {
    const plaintext = randomBytes(4 * S + 100);
    const encryptor = new SegmentEncryptor({ contentKey: key, segmentSize: S, salt });
    const order = [4, 1, 3, 0, 2];
    const segments = new Map(
      order.map((i) => [i, encryptor.encryptSegment(i, plaintext.subarray(i * S, (i + 1) * S), i === 4)]),
    );
    const object = Buffer.concat([encryptor.header, ...[0, 1, 2, 3, 4].map((i) => segments.get(i) as Buffer)]);
    expect(object.equals(encryptBuffer(plaintext, { contentKey: key, segmentSize: S, salt }))).toBe(true);

    const decryptor = new SegmentDecryptor({ contentKey: key, header: encryptor.header });
    const back = [3, 0, 4, 2, 1].map(
      (i) => [i, decryptor.decryptSegment(i, segments.get(i) as Buffer, i === 4)] as const,
    );
    back.sort((a, b) => a[0] - b[0]);
    expect(Buffer.concat(back.map(([, p]) => p)).equals(plaintext)).toBe(true);
  });

  it('encrypts and decrypts into a reused buffer, in place, byte-identical to the allocating API', () => {
    // 1 MiB segments span several internal update slices; the final one ends mid-slice.
    const size = DEFAULT_SEGMENT_SIZE;
    const plaintext = randomBytes(2 * size + 70_001);
    const encryptor = new SegmentEncryptor({ contentKey: key, segmentSize: size, salt });
    const decryptor = new SegmentDecryptor({ contentKey: key, header: encryptor.header });
    const work = Buffer.alloc(size + 16);
    for (const i of [0, 1, 2]) {
      const plain = plaintext.subarray(i * size, (i + 1) * size);
      const expected = encryptor.encryptSegment(i, plain, i === 2);
      plain.copy(work);
      const sealed = encryptor.encryptSegmentInto(i, work.subarray(0, plain.length), i === 2, work);
      expect(sealed).toBe(plain.length + 16);
      expect(work.subarray(0, sealed).equals(expected)).toBe(true);
      const opened = decryptor.decryptSegmentInto(i, work.subarray(0, sealed), i === 2, work);
      expect(work.subarray(0, opened).equals(plain)).toBe(true);
    }
  });

  it('zeroes a caller buffer whose segment fails authentication, and refuses a short one', () => {
    const encryptor = new SegmentEncryptor({ contentKey: key, segmentSize: S, salt });
    const decryptor = new SegmentDecryptor({ contentKey: key, header: encryptor.header });
    const segment = encryptor.encryptSegment(0, randomBytes(S), false);
    segment[5] = (segment[5] as number) ^ 1;
    const out = Buffer.alloc(S, 0xaa);
    expect(codeOf(() => decryptor.decryptSegmentInto(0, segment, false, out))).toBe('INTEGRITY');
    expect(out.equals(Buffer.alloc(S))).toBe(true);
    expect(codeOf(() => decryptor.decryptSegmentInto(0, segment, false, Buffer.alloc(S - 1)))).toBe(
      'VALIDATION_FAILED',
    );
    expect(codeOf(() => encryptor.encryptSegmentInto(0, randomBytes(S), false, Buffer.alloc(S)))).toBe(
      'VALIDATION_FAILED',
    );
    expect(codeOf(() => encryptor.encryptSegmentInto(0, randomBytes(S - 1), false, Buffer.alloc(S + 16)))).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('enforces segment shapes and parameters', () => {
    const encryptor = new SegmentEncryptor({ contentKey: key, segmentSize: S });
    expect(codeOf(() => encryptor.encryptSegment(0, Buffer.alloc(S - 1), false))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => encryptor.encryptSegment(0, Buffer.alloc(S + 1), true))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => encryptor.encryptSegment(1, Buffer.alloc(0), true))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => encryptor.encryptSegment(2 ** 32, Buffer.alloc(1), true))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => encryptor.encryptSegment(-1, Buffer.alloc(1), true))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => encryptor.encryptSegment(2 ** 32 - 1, Buffer.alloc(1), true))).toBeUndefined();
    expect(codeOf(() => new SegmentEncryptor({ contentKey: Buffer.alloc(16) }))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => encryptBuffer(Buffer.alloc(1), { contentKey: key, segmentSize: 1000 }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(codeOf(() => decryptBuffer(Buffer.alloc(58), { contentKey: key, plainLength: -1 }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(codeOf(() => createDecryptStream({ contentKey: key, plainLength: 5, paddedLength: 4 }))).toBe(
      'VALIDATION_FAILED',
    );
  });
});

describe('PADME padding', () => {
  it.each([0, 1, 100, S - 3, S + 7, 3 * S + 1001])('round-trips %i bytes padded to padme(length)', async (length) => {
    await roundTrip(length, S, padme(length));
  });

  it('round-trips an explicit padding that spans whole segments', async () => {
    await roundTrip(10, S, 3 * S + 5);
  });

  it('rejects a plaintext longer than padToLength', async () => {
    const tooLong = Buffer.alloc(105);
    expect(codeOf(() => encryptBuffer(tooLong, { contentKey: key, padToLength: 104 }))).toBe('VALIDATION_FAILED');
    expect(await codeOfAsync(run(createEncryptStream({ contentKey: key, padToLength: 104 }), [tooLong]))).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('rejects non-zero padding and a padded object decrypted without its padded length', async () => {
    // A sender that "pads" with data: 104 bytes encrypted, the envelope says 100 real + 4 padding.
    const stream = Buffer.alloc(104, 0);
    stream[102] = 1;
    const ciphertext = encryptBuffer(stream, { contentKey: key, segmentSize: S });
    const lengths = { contentKey: key, plainLength: 100, paddedLength: 104 };
    expect(codeOf(() => decryptBuffer(ciphertext, lengths))).toBe('INTEGRITY');
    expect(await codeOfAsync(run(createDecryptStream(lengths), [ciphertext]))).toBe('INTEGRITY');

    const padded = encryptBuffer(Buffer.alloc(100, 7), { contentKey: key, segmentSize: S, padToLength: 104 });
    expect(codeOf(() => decryptBuffer(padded, { contentKey: key, plainLength: 100 }))).toBe('INTEGRITY');
    expect(decryptBuffer(padded, lengths).equals(Buffer.alloc(100, 7))).toBe(true);
  });

  it('emits large padding under backpressure instead of buffering it', async () => {
    const padToLength = 8 * 1024 * 1024;
    const stream = createEncryptStream({ contentKey: key, segmentSize: S, padToLength });
    stream.end(Buffer.from('tiny'));
    let total = 0;
    let maxBuffered = 0;
    for await (const piece of stream) {
      total += (piece as Buffer).length;
      maxBuffered = Math.max(maxBuffered, stream.readableLength);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(total).toBe(ciphertextSize(padToLength, S));
    expect(maxBuffered).toBeLessThanOrEqual(2 * (S + 16));
  });
});
