import { ConduitError } from '../../errors.js';
import { CONTAINER_HEADER_LENGTH, isValidSegmentSize } from './header.js';

/** Pure offset math for container v1 (docs/format.md §5-§6). All offsets are byte offsets; ends are exclusive. */

export const CONTAINER_TAG_LENGTH = 16;
/** The segment counter is 32 bits, so an object has at most 2^32 segments. */
export const MAX_SEGMENTS = 2 ** 32;

function assertLength(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConduitError('VALIDATION_FAILED', `${what} must be a non-negative safe integer.`);
  }
}

function assertSegmentSize(segmentSize: number): void {
  if (!isValidSegmentSize(segmentSize)) throw new ConduitError('VALIDATION_FAILED', 'Invalid segment size.');
}

/** Number of segments for a stream of `streamLength` plaintext bytes; the empty stream is one empty final segment. */
export function segmentCount(streamLength: number, segmentSize: number): number {
  assertLength(streamLength, 'Length');
  assertSegmentSize(segmentSize);
  const count = Math.max(1, Math.ceil(streamLength / segmentSize));
  if (count > MAX_SEGMENTS) throw new ConduitError('VALIDATION_FAILED', 'Object too large for this segment size.');
  return count;
}

/** Stored object size: header + stream + one tag per segment. `streamLength` is the padded length when padding. */
export function ciphertextSize(streamLength: number, segmentSize: number): number {
  return CONTAINER_HEADER_LENGTH + streamLength + CONTAINER_TAG_LENGTH * segmentCount(streamLength, segmentSize);
}

/** Offset of segment `index` in the stored object. */
export function segmentOffset(index: number, segmentSize: number): number {
  return CONTAINER_HEADER_LENGTH + index * (segmentSize + CONTAINER_TAG_LENGTH);
}

export interface SegmentRange {
  firstSegment: number;
  lastSegment: number;
  /** Stored-object byte range [cipherStart, cipherEnd) holding exactly those segments (HTTP Range: bytes=start-(end-1)). */
  cipherStart: number;
  cipherEnd: number;
}

/**
 * Segments covering plaintext bytes [plainStart, plainEnd). Without `streamLength` the last covered
 * segment is assumed full (a ranged GET past the object's end is clamped by S3); with it, cipherEnd is exact.
 */
export function segmentRangeFor(
  plainStart: number,
  plainEnd: number,
  segmentSize: number,
  streamLength?: number,
): SegmentRange {
  assertLength(plainStart, 'Range start');
  assertLength(plainEnd, 'Range end');
  assertSegmentSize(segmentSize);
  if (plainEnd <= plainStart) throw new ConduitError('VALIDATION_FAILED', 'Range must be non-empty.');
  const firstSegment = Math.floor(plainStart / segmentSize);
  const lastSegment = Math.floor((plainEnd - 1) / segmentSize);
  let cipherEnd = segmentOffset(lastSegment + 1, segmentSize);
  if (streamLength !== undefined) {
    if (plainEnd > streamLength) throw new ConduitError('VALIDATION_FAILED', 'Range ends past the object.');
    cipherEnd = Math.min(cipherEnd, ciphertextSize(streamLength, segmentSize));
  }
  if (lastSegment >= MAX_SEGMENTS) throw new ConduitError('VALIDATION_FAILED', 'Range beyond the segment limit.');
  return { firstSegment, lastSegment, cipherStart: segmentOffset(firstSegment, segmentSize), cipherEnd };
}

/** Plaintext bytes in segment `index` of a stream of `streamLength` bytes (the last segment may be short or empty). */
export function segmentPlainLength(index: number, streamLength: number, segmentSize: number): number {
  return Math.min(segmentSize, streamLength - index * segmentSize);
}

/**
 * PADME (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication with PURBs",
 * PoPETs 2019, Algorithm 1): rounds L up so only its top floor(log2 floor(log2 L)) + 1 bits may be
 * non-zero. Overhead <= 12%, leaks O(log log L) bits of the length.
 */
export function padme(length: number): number {
  assertLength(length, 'Length');
  if (length < 2) return length;
  const e = length.toString(2).length - 1; // floor(log2 L), exact for every safe integer
  const s = e.toString(2).length; // floor(log2 E) + 1
  const z = e - s;
  if (z <= 0) return length;
  const step = 2 ** z; // arithmetic instead of bit masks: lengths may exceed 2^32
  const padded = Math.ceil(length / step) * step;
  if (!Number.isSafeInteger(padded)) throw new ConduitError('VALIDATION_FAILED', 'Length too large to pad.');
  return padded;
}
