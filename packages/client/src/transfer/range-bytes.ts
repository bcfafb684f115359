import { ConduitError } from '@conduit/shared';
import type { ObjectStorage, PresignedTarget } from '../platform/object-storage.js';
import { RetryableStorageError } from './retry.js';

/** Reads a whole ranged response into one buffer of exactly end - start bytes. */
export async function readRangeBytes(
  storage: ObjectStorage,
  target: PresignedTarget,
  start: number,
  end: number,
  objectSize: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(end - start);
  let filled = 0;
  try {
    for await (const chunk of await storage.getRange(target, start, end, objectSize, signal)) {
      if (filled + chunk.byteLength > out.length) throw new ConduitError('INTEGRITY', 'Object storage sent too much.');
      out.set(chunk, filled);
      filled += chunk.byteLength;
    }
  } catch (err) {
    throw err instanceof ConduitError
      ? err
      : new RetryableStorageError(undefined, 'Download interrupted.', { cause: err });
  }
  if (filled !== out.length) throw new RetryableStorageError(undefined, 'Download ended early.');
  return out;
}
