import {
  ciphertextSize,
  ConduitError,
  CONTAINER_TAG_LENGTH,
  MAX_PART_BYTES,
  MAX_PARTS,
  MIN_PART_BYTES,
  segmentCount,
  segmentOffset,
} from '@conduit/shared';

/**
 * How a container object is cut into S3 multipart parts (docs/format.md §5): every part is a whole
 * number of segments, the first also carries the 42-byte header. Segments per part grow with the
 * object so that it never needs more than S3's 10,000 parts.
 */

/**
 * 8 segments of 1 MiB: whole segments above S3's 5 MiB minimum, few enough requests per file that
 * per-part costs (a presigned URL, a `done` line) stay negligible, small enough that a retried part
 * resends little (docs/sdk.md, "Part size and parallelism").
 */
export const DEFAULT_PART_PLAIN_BYTES = 8 * 1024 * 1024;

export interface PartPlan {
  /** Encrypted stream length P (plaintext + padding). */
  streamLength: number;
  segmentSize: number;
  segmentCount: number;
  segmentsPerPart: number;
  partCount: number;
  /** Stored object size: ciphertextSize(P, S). */
  objectSize: number;
}

export interface PartSpan {
  partNumber: number;
  firstSegment: number;
  /** Segments in this part (the last part may hold fewer). */
  segments: number;
  /** Encrypted-stream bytes [plainStart, plainEnd) this part encrypts. */
  plainStart: number;
  plainEnd: number;
  /** Stored-object bytes [cipherStart, cipherEnd) of this part; part 1 starts at 0 (the header). */
  cipherStart: number;
  cipherEnd: number;
  size: number;
}

export function planParts(
  streamLength: number,
  segmentSize: number,
  partPlainBytes: number = DEFAULT_PART_PLAIN_BYTES,
): PartPlan {
  if (!Number.isSafeInteger(partPlainBytes) || partPlainBytes <= 0) {
    throw new ConduitError('VALIDATION_FAILED', 'Part size must be a positive integer.');
  }
  const count = segmentCount(streamLength, segmentSize);
  const stored = segmentSize + CONTAINER_TAG_LENGTH;
  const segmentsPerPart = Math.max(
    Math.floor(partPlainBytes / segmentSize),
    Math.ceil(MIN_PART_BYTES / stored), // every part but the last must reach S3's minimum
    Math.ceil(count / MAX_PARTS),
    1,
  );
  if (segmentOffset(segmentsPerPart, segmentSize) > MAX_PART_BYTES) {
    throw new ConduitError('PAYLOAD_TOO_LARGE', 'The file is too large for a multipart upload.');
  }
  return {
    streamLength,
    segmentSize,
    segmentCount: count,
    segmentsPerPart,
    partCount: Math.ceil(count / segmentsPerPart),
    objectSize: ciphertextSize(streamLength, segmentSize),
  };
}

export function partSpan(plan: PartPlan, partNumber: number): PartSpan {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > plan.partCount) {
    throw new ConduitError('VALIDATION_FAILED', 'Part number out of range.');
  }
  const { segmentSize, segmentsPerPart, streamLength } = plan;
  const firstSegment = (partNumber - 1) * segmentsPerPart;
  const segments = Math.min(segmentsPerPart, plan.segmentCount - firstSegment);
  const cipherStart = partNumber === 1 ? 0 : segmentOffset(firstSegment, segmentSize);
  const cipherEnd = Math.min(segmentOffset(firstSegment + segments, segmentSize), plan.objectSize);
  return {
    partNumber,
    firstSegment,
    segments,
    plainStart: firstSegment * segmentSize,
    plainEnd: Math.min(streamLength, (firstSegment + segments) * segmentSize),
    cipherStart,
    cipherEnd,
    size: cipherEnd - cipherStart,
  };
}
