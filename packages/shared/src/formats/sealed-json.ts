import { z } from 'zod';
import { ConduitError } from '../errors.js';
import { MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from './container/header.js';
import { ciphertextSize, padme } from './container/layout.js';

// Rules the file and record envelopes share. Internal to formats/ (not re-exported by the index).

/** Base64 of exactly `bytes` bytes (content keys). */
export const base64Bytes = (bytes: number) => z.base64().refine((s) => Buffer.from(s, 'base64').length === bytes);

/** Segment sizes an envelope may name (container v1's range). */
export const EnvelopeSegmentSize = z.number().int().min(MIN_SEGMENT_SIZE).max(MAX_SEGMENT_SIZE);

/** JSON bytes of a sealed-envelope plaintext, refused (and zeroed) above `max` bytes. */
export function boundedJson(value: unknown, max: number, message: string): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  if (json.length > max) {
    json.fill(0);
    throw new ConduitError('VALIDATION_FAILED', message);
  }
  return json;
}

/** Content is padded with PADME or not at all (docs/format.md §7). */
export const validPadding = (plainLength: number, paddedLength: number): boolean =>
  paddedLength === plainLength || paddedLength === padme(plainLength);

/** ciphertextSize, or -1 for lengths no container can have (never equal to a pointer's size). */
export function storedSize(paddedLength: number, segmentSize: number): number {
  try {
    return ciphertextSize(paddedLength, segmentSize);
  } catch {
    return -1;
  }
}

/** JSON.parse of an opened envelope, INTEGRITY when it is not JSON. */
export function parseJson(json: Buffer, message: string): unknown {
  try {
    return JSON.parse(json.toString('utf8')) as unknown;
  } catch {
    throw integrity(message);
  }
}

export const integrity = (message: string, cause?: unknown): ConduitError =>
  new ConduitError('INTEGRITY', message, undefined, cause === undefined ? undefined : { cause });
