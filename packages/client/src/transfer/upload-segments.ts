import { CONTAINER_TAG_LENGTH } from '@conduit/shared';
import type { SegmentEncryptor } from '@conduit/shared';
import { sha256Hex } from '../platform/sha256.js';
import type { Sha256Factory } from '../platform/sha256.js';
import type { ObjectStorage, PresignedTarget } from '../platform/object-storage.js';
import type { SourceFile } from '../platform/source-files.js';
import type { PartPlan, PartSpan } from './part-plan.js';
import type { UploadLog, UploadParams } from './upload-state.js';
import { noteTransferred } from './young-gc.js';

/** Streaming one upload's parts: each segment read, hashed (and the digest logged) and sealed. */

/** The source file changed under a resumable upload: the upload must start over with a fresh key. */
export class SourceChanged extends Error {}

/** One upload in progress. */
export interface Job {
  params: UploadParams;
  key: Buffer;
  encryptor: SegmentEncryptor;
  plan: PartPlan;
  segments: Map<number, string>;
  /** Part number -> ETag. */
  parts: Map<number, string>;
  log: UploadLog;
  sha256: Sha256Factory;
  completed: boolean;
  resumed: boolean;
}

/**
 * One attempt at one part: a streamed PUT whose body is produced on demand, the header first for
 * part 1, then each segment sealed by sealSegment. Every attempt has its own scratch buffer, so a
 * late read of an abandoned attempt can never touch the bytes another attempt hashes and encrypts.
 */
export async function putStreamedPart(
  storage: ObjectStorage,
  job: Job,
  fh: SourceFile,
  span: PartSpan,
  target: PresignedTarget,
  signal: AbortSignal | undefined,
): Promise<string> {
  // Plaintext in, ciphertext || tag out (in place): reused for every segment of the attempt.
  const scratch = Buffer.allocUnsafe(job.plan.segmentSize + CONTAINER_TAG_LENGTH);
  async function* body(): AsyncGenerator<Uint8Array> {
    if (span.partNumber === 1) yield job.encryptor.header;
    for (let index = span.firstSegment; index < span.firstSegment + span.segments; index++) {
      yield await sealSegment(job, fh, index, scratch);
    }
  }
  return storage.putPart(target, body(), span.size, signal);
}

/** Plaintext bounds of segment `index` in the encrypted stream: `length` bytes, the first `real` from the file. */
export function segmentBounds(job: Job, index: number): { start: number; length: number; real: number } {
  const { plan, params } = job;
  const start = index * plan.segmentSize;
  const length = Math.min(plan.segmentSize, plan.streamLength - start);
  return { start, length, real: Math.max(0, Math.min(length, params.size - start)) };
}

/**
 * Reads, hashes and encrypts one segment, in place in `scratch`; returns the sealed segment (a view
 * of `scratch`, valid until the next call). The digest is recorded before the ciphertext exists; if
 * one was recorded before (a retry or a resume), the plaintext must match it, or SourceChanged.
 */
export async function sealSegment(job: Job, fh: SourceFile, index: number, scratch: Buffer): Promise<Buffer> {
  const { start, length, real } = segmentBounds(job, index);
  const plaintext = scratch.subarray(0, length);
  if (real > 0) await readFully(fh, plaintext, real, start);
  const digest = sha256Hex(job.sha256, plaintext.subarray(0, real));
  const recorded = job.segments.get(index);
  if (recorded === undefined) {
    await job.log.segment(index, digest);
    job.segments.set(index, digest);
  } else if (recorded !== digest) {
    throw new SourceChanged();
  }
  plaintext.fill(0, real);
  noteTransferred(length);
  return scratch.subarray(
    0,
    job.encryptor.encryptSegmentInto(index, plaintext, index === job.plan.segmentCount - 1, scratch),
  );
}

export async function readFully(fh: SourceFile, into: Buffer, length: number, position: number): Promise<void> {
  for (let got = 0; got < length;) {
    const { bytesRead } = await fh.read(into, got, length - got, position + got);
    if (bytesRead === 0) throw new SourceChanged(); // the file shrank
    got += bytesRead;
  }
}
