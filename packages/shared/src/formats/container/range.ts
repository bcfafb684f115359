import { ConduitError } from '../../errors.js';
import { CONTAINER_HEADER_LENGTH, parseHeader } from './header.js';
import { checkHeaderDigest, SegmentKey } from './key.js';
import { segmentCount, segmentOffset, segmentPlainLength, segmentRangeFor, CONTAINER_TAG_LENGTH } from './layout.js';
import { assertZeroPadding, streamLengthOf, type DecryptOptions } from './options.js';
import { openSegment } from './segment.js';

/**
 * Random access (docs/format.md §6): only the segments covering the requested bytes are read and
 * verified. Segments outside the range are never touched, so their integrity is not checked here.
 */

/** Returns bytes [start, end) of the stored object (for S3: `Range: bytes=${start}-${end - 1}`). */
export type RangeReader = (start: number, end: number) => Promise<Uint8Array>;

export interface RangeDecryptOptions extends DecryptOptions {
  read: RangeReader;
  /** The object's first 42 bytes if already fetched (saves one read); still bound by AAD and headerDigest. */
  header?: Uint8Array;
}

interface Opened {
  key: SegmentKey;
  streamLength: number;
  count: number;
}

async function readExactly(read: RangeReader, start: number, end: number): Promise<Uint8Array> {
  const bytes = await read(start, end);
  if (bytes.length !== end - start) throw new ConduitError('INTEGRITY', 'Object is shorter than the envelope says.');
  return bytes;
}

async function open(options: RangeDecryptOptions): Promise<Opened> {
  const streamLength = streamLengthOf(options);
  const header = parseHeader(options.header ?? (await readExactly(options.read, 0, CONTAINER_HEADER_LENGTH)));
  checkHeaderDigest(header, options.headerDigest);
  const key = new SegmentKey(options.contentKey, header);
  return { key, streamLength, count: segmentCount(streamLength, header.segmentSize) };
}

/** Verifies consecutive stored segments starting at `firstSegment`; returns each one's plaintext cut at plainLength. */
function openRun(opened: Opened, plainLength: number, firstSegment: number, data: Uint8Array): Buffer[] {
  const { key, streamLength, count } = opened;
  const plaintexts: Buffer[] = [];
  let offset = 0;
  for (let index = firstSegment; offset < data.length; index++) {
    const end = offset + segmentPlainLength(index, streamLength, key.segmentSize) + CONTAINER_TAG_LENGTH;
    const plaintext = openSegment(key, index, data.subarray(offset, end), index === count - 1);
    const keep = Math.max(0, Math.min(plaintext.length, plainLength - index * key.segmentSize));
    assertZeroPadding(plaintext.subarray(keep));
    plaintexts.push(plaintext.subarray(0, keep));
    offset = end;
  }
  return plaintexts;
}

function assertSegmentSpan(first: number, last: number, count: number): void {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || first > last || last >= count) {
    throw new ConduitError('VALIDATION_FAILED', 'Segment span out of range.');
  }
}

/**
 * Yields the verified plaintext of segments firstSegment..lastSegment (inclusive), one read per
 * segment so memory stays at one segment. Padding bytes are checked and not yielded.
 */
export async function* decryptSegments(
  options: RangeDecryptOptions & { firstSegment: number; lastSegment: number },
): AsyncGenerator<Buffer, void, undefined> {
  const opened = await open(options);
  assertSegmentSpan(options.firstSegment, options.lastSegment, opened.count);
  const size = opened.key.segmentSize;
  for (let index = options.firstSegment; index <= options.lastSegment; index++) {
    const start = segmentOffset(index, size);
    const end = start + segmentPlainLength(index, opened.streamLength, size) + CONTAINER_TAG_LENGTH;
    const data = await readExactly(options.read, start, end);
    const [plaintext] = openRun(opened, options.plainLength, index, data);
    yield plaintext as Buffer;
  }
}

/** Plaintext bytes [start, end) with one read of the covering segments (plus one for the header if not given). */
export async function decryptRange(options: RangeDecryptOptions & { start: number; end: number }): Promise<Buffer> {
  const { start, end, plainLength } = options;
  streamLengthOf(options);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > plainLength) {
    throw new ConduitError('VALIDATION_FAILED', 'Range must satisfy 0 <= start <= end <= plainLength.');
  }
  if (start === end) return Buffer.alloc(0);
  const opened = await open(options);
  const size = opened.key.segmentSize;
  const range = segmentRangeFor(start, end, size, opened.streamLength);
  const data = await readExactly(options.read, range.cipherStart, range.cipherEnd);
  const plaintext = Buffer.concat(openRun(opened, plainLength, range.firstSegment, data));
  const skip = start - range.firstSegment * size;
  return plaintext.subarray(skip, skip + end - start);
}
