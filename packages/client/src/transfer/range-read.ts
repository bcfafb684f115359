import { ConduitError, decryptRange } from '@conduit/shared';
import type { OpenedEnvelope, PointerV1 } from '@conduit/shared';
import type { ObjectStorage } from '../platform/object-storage.js';
import { DownloadUrl } from './download-url.js';
import { RetryableStorageError, withRetry } from './retry.js';
import { readRangeBytes } from './range-bytes.js';

/** A range read returns one Buffer: keep it well inside memory. */
export const MAX_RANGE_READ_BYTES = 64 * 1024 * 1024;

/**
 * Random access (docs/format.md §6): plaintext bytes [start, end) of a shared file, fetching and
 * verifying only the header and the segments that cover the range.
 */
export async function readPlainRange(
  api: ConstructorParameters<typeof DownloadUrl>[0],
  storage: ObjectStorage,
  pointer: PointerV1,
  envelope: OpenedEnvelope,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new ConduitError('VALIDATION_FAILED', 'A range needs 0 <= start <= end.');
  }
  if (end - start > MAX_RANGE_READ_BYTES) {
    throw new ConduitError('VALIDATION_FAILED', `A range read returns at most ${MAX_RANGE_READ_BYTES} bytes.`);
  }
  const url = new DownloadUrl(api, pointer.groupId, pointer.objectId);
  return decryptRange({
    contentKey: envelope.contentKey,
    plainLength: envelope.plainLength,
    paddedLength: envelope.paddedLength,
    headerDigest: envelope.headerDigest,
    start,
    end,
    read: (a, b) =>
      withRetry(async () => readRangeBytes(storage, await url.get(), a, b, pointer.size, signal), {
        signal,
        onRetry: (err) => {
          if (err instanceof RetryableStorageError && err.storageStatus === 403) url.forget();
        },
      }),
  });
}
