import { ConduitError } from '../../errors.js';
import type { SegmentEncryptorOptions } from './segment.js';

export interface EncryptOptions extends SegmentEncryptorOptions {
  /**
   * Extend the plaintext with zero bytes inside the encrypted stream up to this length (use
   * `padme(size)`); the envelope then carries both lengths. Must be >= the plaintext length.
   */
  padToLength?: number;
}

export interface DecryptOptions {
  contentKey: Uint8Array;
  /** Real plaintext length, from the sealed envelope. */
  plainLength: number;
  /** Encrypted stream length (padded length) from the envelope; defaults to plainLength (no padding). */
  paddedLength?: number;
  /** SHA-256 of the header from the sealed envelope; a mismatch throws INTEGRITY. */
  headerDigest?: Uint8Array;
}

function assertLength(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConduitError('VALIDATION_FAILED', `${what} must be a non-negative safe integer.`);
  }
}

/** Validates the envelope's lengths; returns the length of the encrypted stream (plaintext + zero padding). */
export function streamLengthOf(options: DecryptOptions): number {
  assertLength(options.plainLength, 'plainLength');
  const paddedLength = options.paddedLength ?? options.plainLength;
  assertLength(paddedLength, 'paddedLength');
  if (paddedLength < options.plainLength) throw new ConduitError('VALIDATION_FAILED', 'paddedLength < plainLength.');
  return paddedLength;
}

export function assertPadTarget(padToLength: number | undefined): void {
  if (padToLength !== undefined) assertLength(padToLength, 'padToLength');
}

/** Padding is zero bytes; any other byte means the encryptor was not ours (docs/format.md §7). */
export const ZEROS = Buffer.alloc(64 * 1024);

export function assertZeroPadding(padding: Buffer): void {
  for (let offset = 0; offset < padding.length; offset += ZEROS.length) {
    const piece = padding.subarray(offset, offset + ZEROS.length);
    if (!piece.equals(ZEROS.subarray(0, piece.length))) throw new ConduitError('INTEGRITY', 'Padding is not zero.');
  }
}
