import type { CipherGCM, DecipherGCM } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ConduitError } from '../../errors.js';
import { createHeader, CONTAINER_HEADER_LENGTH, parseHeader } from './header.js';
import { checkHeaderDigest, SegmentKey, verifyTag } from './key.js';
import { segmentCount, segmentPlainLength, CONTAINER_TAG_LENGTH } from './layout.js';
import {
  assertPadTarget,
  assertZeroPadding,
  streamLengthOf,
  ZEROS,
  type DecryptOptions,
  type EncryptOptions,
} from './options.js';
import { updateEach } from './update.js';

/**
 * Streaming container v1. Both directions hold at most about one segment of data, and pass
 * chunks through cipher.update() without concatenating them.
 */

function asError(err: unknown): Error {
  return err instanceof Error ? err : new ConduitError('INTERNAL');
}

/** Plaintext in, header + segments out. The header (and so its digest) is known at construction. */
export class EncryptStream extends Transform {
  readonly header: Buffer;
  private readonly key: SegmentKey;
  private readonly segmentSize: number;
  private readonly padToLength: number | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private received = 0;
  private index = 0;
  private wakeReader: (() => void) | undefined;

  constructor(options: EncryptOptions) {
    super();
    assertPadTarget(options.padToLength);
    const header = createHeader(options.segmentSize, options.salt);
    this.key = new SegmentKey(options.contentKey, header);
    this.header = header.bytes;
    this.segmentSize = header.segmentSize;
    this.padToLength = options.padToLength;
    this.push(this.header);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.received += chunk.length;
      if (this.padToLength !== undefined && this.received > this.padToLength) {
        throw new ConduitError('VALIDATION_FAILED', 'Plaintext is longer than padToLength.');
      }
      this.enqueue(chunk);
      // A segment is sealed only once a byte beyond it arrived: only then is it known not to be the last.
      while (this.queued > this.segmentSize) this.seal(this.segmentSize, false);
      callback();
    } catch (err) {
      callback(asError(err));
    }
  }

  override _flush(callback: TransformCallback): void {
    this.finish().then(
      () => callback(),
      (err: unknown) => callback(asError(err)),
    );
  }

  // Transform calls _read when the consumer wants more; _flush waits on it while emitting padding.
  override _read(size: number): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
    super._read(size);
  }

  private async finish(): Promise<void> {
    let padding = (this.padToLength ?? this.received) - this.received;
    while (padding > 0) {
      const zeros = ZEROS.subarray(0, Math.min(padding, ZEROS.length));
      padding -= zeros.length;
      this.enqueue(zeros);
      while (this.queued > this.segmentSize) {
        this.seal(this.segmentSize, false);
        // Padding may be large (PADME adds up to 12%): respect backpressure instead of buffering it all.
        if (this.readableLength >= this.readableHighWaterMark) {
          await new Promise<void>((resolve) => (this.wakeReader = resolve));
        }
      }
    }
    this.seal(this.queued, true);
  }

  private enqueue(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  /** Encrypts the first `length` queued bytes as segment `index`, pushing ciphertext pieces then the tag. */
  private seal(length: number, last: boolean): void {
    const cipher: CipherGCM = this.key.cipher(this.index++, last);
    let remaining = length;
    while (remaining > 0) {
      const head = this.queue[0] as Buffer;
      const piece = head.length <= remaining ? head : head.subarray(0, remaining);
      if (piece === head) this.queue.shift();
      else this.queue[0] = head.subarray(remaining);
      remaining -= piece.length;
      updateEach(cipher, piece, (out) => this.push(out));
    }
    this.queued -= length;
    cipher.final();
    this.push(cipher.getAuthTag());
  }
}

/**
 * Stored object in, plaintext out. A segment's plaintext is held back until its tag verified,
 * so nothing unauthenticated is ever emitted; lengths come from the sealed envelope, so truncation
 * and trailing data are detected too.
 */
export class DecryptStream extends Transform {
  private readonly options: DecryptOptions;
  private readonly streamLength: number;
  private readonly headerBytes = Buffer.alloc(CONTAINER_HEADER_LENGTH);
  private headerFill = 0;
  private key: SegmentKey | undefined;
  private count = 0;
  private index = 0;
  private decipher: DecipherGCM | undefined;
  private cipherRemaining = 0;
  private readonly tag = Buffer.alloc(CONTAINER_TAG_LENGTH);
  private tagFill = 0;
  private pending: Buffer[] = [];

  constructor(options: DecryptOptions) {
    super();
    this.streamLength = streamLengthOf(options);
    this.options = options;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (err) {
      this.pending = [];
      callback(asError(err));
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.key === undefined && this.headerFill < CONTAINER_HEADER_LENGTH) {
      callback(new ConduitError('INTEGRITY', 'Container header is truncated.'));
    } else if (this.index < this.count) {
      callback(new ConduitError('INTEGRITY', 'Ciphertext is truncated.'));
    } else {
      callback();
    }
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    if (this.key === undefined) {
      offset = chunk.copy(this.headerBytes, this.headerFill, 0, CONTAINER_HEADER_LENGTH - this.headerFill);
      this.headerFill += offset;
      if (this.headerFill < CONTAINER_HEADER_LENGTH) return;
      this.start();
    }
    while (offset < chunk.length) {
      if (this.index >= this.count) throw new ConduitError('INTEGRITY', 'Unexpected data after the last segment.');
      const decipher = this.decipher ?? this.open();
      if (this.cipherRemaining > 0) {
        const piece = chunk.subarray(offset, offset + this.cipherRemaining);
        offset += piece.length;
        this.cipherRemaining -= piece.length;
        updateEach(decipher, piece, (out) => this.pending.push(out));
      } else {
        const copied = chunk.copy(this.tag, this.tagFill, offset, offset + CONTAINER_TAG_LENGTH - this.tagFill);
        offset += copied;
        this.tagFill += copied;
        if (this.tagFill === CONTAINER_TAG_LENGTH) this.close(decipher);
      }
    }
  }

  private start(): void {
    const header = parseHeader(this.headerBytes);
    checkHeaderDigest(header, this.options.headerDigest);
    this.key = new SegmentKey(this.options.contentKey, header);
    this.count = segmentCount(this.streamLength, header.segmentSize);
  }

  private open(): DecipherGCM {
    const key = this.key as SegmentKey;
    this.decipher = key.decipher(this.index, this.index === this.count - 1);
    this.cipherRemaining = segmentPlainLength(this.index, this.streamLength, key.segmentSize);
    this.tagFill = 0;
    return this.decipher;
  }

  /** Verifies the segment's tag and its zero padding, then releases its plaintext up to plainLength. */
  private close(decipher: DecipherGCM): void {
    verifyTag(decipher, this.tag, this.index);
    const start = this.index * (this.key as SegmentKey).segmentSize;
    const keep = Math.max(0, this.options.plainLength - start); // plaintext bytes of this segment to release
    let position = 0;
    for (const plaintext of this.pending) {
      assertZeroPadding(plaintext.subarray(Math.max(0, keep - position)));
      position += plaintext.length;
    }
    position = 0;
    for (const plaintext of this.pending) {
      const take = Math.min(plaintext.length, keep - position);
      if (take <= 0) break;
      this.push(take === plaintext.length ? plaintext : plaintext.subarray(0, take));
      position += take;
    }
    this.pending = [];
    this.decipher = undefined;
    this.index++;
  }
}

export function createEncryptStream(options: EncryptOptions): EncryptStream {
  return new EncryptStream(options);
}

export function createDecryptStream(options: DecryptOptions): DecryptStream {
  return new DecryptStream(options);
}
