import {
  ConduitError,
  CONTAINER_HEADER_LENGTH,
  CONTAINER_TAG_LENGTH,
  SegmentDecryptor,
  segmentCount,
  segmentOffset,
} from '@conduit/shared';
import type { OpenedEnvelope, PointerV1 } from '@conduit/shared';
import type { DownloadSink, PartialWriter } from '../platform/download-sink.js';
import type { ObjectStorage } from '../platform/object-storage.js';
import { decodeBits, encodeBits } from './download-state.js';
import type { DownloadStateStore } from './download-state.js';
import { DownloadUrl } from './download-url.js';
import { runBounded } from './pool.js';
import { progressEmitter } from './progress.js';
import type { ProgressListener } from './progress.js';
import { RetryableStorageError, withRetry } from './retry.js';
import { readRangeBytes } from './range-bytes.js';
import { noteTransferred, settleBeforeTransfer } from './young-gc.js';

/**
 * Download with parallel ranged GETs of whole segments. Every segment is verified before its
 * plaintext is written, at its offset, into a partial file of the DownloadSink (Node's: platform/node/partial-folder.ts);
 * verified ranges are checkpointed (after an fsync) so an interrupted download resumes there. The
 * file gets its final name only when every segment verified: consumers never see unverified or
 * incomplete plaintext.
 */
export interface DownloadOptions {
  /** Ranged GETs in flight (default 4). */
  concurrency?: number;
  /** Stored bytes per ranged GET, rounded to whole segments (default 8 MiB). */
  rangeSize?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface DownloadContext {
  api: ConstructorParameters<typeof DownloadUrl>[0];
  store: DownloadStateStore;
  sink: DownloadSink;
  storage: ObjectStorage;
  log: (line: string) => void;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_RANGE_BYTES = 8 * 1024 * 1024;
const CHECKPOINT_EVERY_MS = 1_000;
const ZEROS = Buffer.alloc(64 * 1024);

/** Downloads, verifies and decrypts the pointer's object into `outDir`; returns the final path. */
export async function downloadToFile(
  ctx: DownloadContext,
  pointer: PointerV1,
  envelope: OpenedEnvelope,
  outDir: string,
  name: string,
  opts: DownloadOptions = {},
): Promise<string> {
  const { segmentSize: size, paddedLength, plainLength } = envelope;
  const count = segmentCount(paddedLength, size);
  const perRange = Math.max(1, Math.round((opts.rangeSize ?? DEFAULT_RANGE_BYTES) / (size + CONTAINER_TAG_LENGTH)));
  const ranges = Math.ceil(count / perRange);
  const url = new DownloadUrl(ctx.api, pointer.groupId, pointer.objectId);
  const retry = { signal: opts.signal, onRetry: (err: ConduitError) => forgetOn403(err, url) };
  const header = await withRetry(
    async () => readRangeBytes(ctx.storage, await url.get(), 0, CONTAINER_HEADER_LENGTH, pointer.size, opts.signal),
    retry,
  );
  const decryptor = new SegmentDecryptor({
    contentKey: envelope.contentKey,
    header,
    headerDigest: envelope.headerDigest,
  });

  await ctx.sink.prepare(outDir);
  settleBeforeTransfer(plainLength);
  const headerSha256 = envelope.headerDigest.toString('hex');
  const saved = await ctx.store.load(pointer.id);
  const resumable =
    saved?.objectId === pointer.objectId &&
    saved.headerSha256 === headerSha256 &&
    saved.segmentsPerRange === perRange &&
    ctx.sink.belongsTo(saved.folder, outDir);
  // A checkpoint that does not fit leaves its folder behind, recognisable by its prefix.
  const partial = (resumable ? await ctx.sink.reopen(saved.folder) : undefined) ?? (await ctx.sink.create(outDir));
  const { fh, folder } = partial;
  const done =
    resumable && partial.resumed ? decodeBits(saved.done, ranges) : Array.from({ length: ranges }, () => false);

  const plainOf = (range: number) => {
    const start = range * perRange * size;
    return Math.max(0, Math.min(plainLength, (range + 1) * perRange * size) - start);
  };
  const emit = progressEmitter({ direction: 'receive', bytesTotal: plainLength, name }, opts.onProgress);
  let bytesDone = done.reduce((sum, d, r) => sum + (d ? plainOf(r) : 0), 0);
  if (bytesDone > 0) ctx.log(`resuming download of pointer ${pointer.id}`);
  emit('downloading', bytesDone);

  const checkpoint = new Checkpointer(fh, async (bits) =>
    ctx.store.save(pointer.id, {
      v: 2,
      objectId: pointer.objectId,
      headerSha256,
      folder,
      segmentsPerRange: perRange,
      done: bits,
    }),
  );
  const spare: Buffer[] = [];
  const fetchRange = async (range: number): Promise<void> => {
    const first = range * perRange;
    const last = Math.min(count, first + perRange) - 1;
    const start = segmentOffset(first, size);
    const end = Math.min(segmentOffset(last + 1, size), pointer.size);
    const body = await ctx.storage.getRange(await url.get(), start, end, pointer.size, opts.signal);
    // One segment buffer per range in flight, reused by the next range once this one settled.
    const segment = spare.pop() ?? Buffer.allocUnsafe(size + CONTAINER_TAG_LENGTH);
    const writer = new SegmentWriter(fh, decryptor, { count, size, paddedLength, plainLength }, first, last, segment);
    try {
      for await (const chunk of body) await writer.push(chunk);
    } catch (err) {
      if (err instanceof ConduitError) throw err;
      throw new RetryableStorageError(undefined, 'Download interrupted.', { cause: err });
    } finally {
      spare.push(segment);
    }
    writer.end();
  };

  try {
    await fh.truncate(plainLength);
    const pending = done.flatMap((d, r) => (d ? [] : [r]));
    await runBounded(
      pending,
      opts.concurrency ?? DEFAULT_CONCURRENCY,
      async (range) => {
        await withRetry(() => fetchRange(range), retry);
        done[range] = true;
        bytesDone += plainOf(range);
        emit('downloading', bytesDone);
        checkpoint.maybe(() => encodeBits(done));
      },
      opts.signal,
    );
    emit('finishing', bytesDone);
    await fh.sync();
    await checkpoint.settle();
  } catch (err) {
    await checkpoint.settle().catch(() => undefined);
    if (err instanceof ConduitError && err.code === 'INTEGRITY') {
      // The object itself is bad: nothing worth resuming.
      await fh.close();
      await ctx.sink.discard(folder);
      await ctx.store.remove(pointer.id);
    } else {
      // Interrupted: record every range finished so far, so the next attempt starts from there.
      await checkpoint.save(encodeBits(done)).catch(() => undefined);
      await fh.close();
    }
    throw err;
  }
  await fh.close();
  try {
    return await ctx.sink.publish(partial, outDir, name);
  } catch (err) {
    // Refused (a link under the final name) or failed: leave no plaintext behind.
    await ctx.sink.discard(folder);
    throw err;
  } finally {
    await ctx.store.remove(pointer.id);
  }
}

function forgetOn403(err: ConduitError, url: DownloadUrl): void {
  if (err instanceof RetryableStorageError && err.storageStatus === 403) url.forget();
}

interface Layout {
  count: number;
  size: number;
  paddedLength: number;
  plainLength: number;
}

/** Reassembles one range's segments from response chunks; verifies each before writing its plaintext. */
class SegmentWriter {
  private fill = 0;
  private index: number;
  private expected: number;

  /** `segment` holds layout.size + CONTAINER_TAG_LENGTH bytes; the writer owns it until the range settles. */
  constructor(
    private readonly fh: PartialWriter,
    private readonly decryptor: SegmentDecryptor,
    private readonly layout: Layout,
    first: number,
    private readonly last: number,
    private readonly segment: Buffer,
  ) {
    this.index = first;
    this.expected = this.storedLength(first);
  }

  async push(chunk: Uint8Array): Promise<void> {
    for (let offset = 0; offset < chunk.length;) {
      if (this.index > this.last) throw new ConduitError('INTEGRITY', 'Object storage sent more than the range.');
      const take = Math.min(this.expected - this.fill, chunk.length - offset);
      this.segment.set(chunk.subarray(offset, offset + take), this.fill);
      this.fill += take;
      offset += take;
      if (this.fill === this.expected) await this.flush();
    }
  }

  end(): void {
    if (this.index <= this.last) throw new RetryableStorageError(undefined, 'Download ended early.');
  }

  private storedLength(index: number): number {
    const { size, paddedLength } = this.layout;
    return Math.min(size, paddedLength - index * size) + CONTAINER_TAG_LENGTH;
  }

  private async flush(): Promise<void> {
    const { count, size, plainLength } = this.layout;
    const index = this.index;
    // In place, in the range's reused buffer: no allocation per segment.
    const length = this.decryptor.decryptSegmentInto(
      index,
      this.segment.subarray(0, this.fill),
      index === count - 1,
      this.segment,
    );
    const plaintext = this.segment.subarray(0, length);
    const keep = Math.max(0, Math.min(plaintext.length, plainLength - index * size));
    assertZero(plaintext.subarray(keep));
    if (keep > 0) await writeFully(this.fh, plaintext.subarray(0, keep), index * size);
    noteTransferred(this.fill);
    this.index++;
    this.fill = 0;
    if (this.index <= this.last) this.expected = this.storedLength(this.index);
  }
}

/** Padding is canonical zeros (docs/format.md §7): anything else is refused. */
function assertZero(padding: Buffer): void {
  for (let at = 0; at < padding.length; at += ZEROS.length) {
    const piece = padding.subarray(at, at + ZEROS.length);
    if (!piece.equals(ZEROS.subarray(0, piece.length))) throw new ConduitError('INTEGRITY', 'Padding is not zero.');
  }
}

async function writeFully(fh: PartialWriter, data: Buffer, position: number): Promise<void> {
  for (let written = 0; written < data.length;) {
    const { bytesWritten } = await fh.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

/** Persists which ranges are done at most once a second, after an fsync, so a saved range is on disk. */
class Checkpointer {
  private last = Date.now();
  private busy = false;
  private chain: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly fh: PartialWriter,
    private readonly persist: (bits: string) => Promise<void>,
  ) {}

  /**
   * Starts a checkpoint when one is due. It runs behind the downloads: a datasync waits for the
   * disk to take every byte written so far, which is no reason to stop fetching. A failed
   * checkpoint fails the download at the next call, or at settle().
   */
  maybe(snapshot: () => string): void {
    if (this.failure) throw this.failure.error;
    if (this.busy || Date.now() - this.last < CHECKPOINT_EVERY_MS) return;
    this.save(snapshot()).catch((error: unknown) => {
      this.failure ??= { error };
    });
  }

  /**
   * Syncs the file, then records `bits`. Saves run one after another; `bits` is taken before the
   * sync starts, so every range it lists was written before that sync.
   */
  save(bits: string): Promise<void> {
    this.busy = true;
    const run = this.chain.then(async () => {
      await this.fh.datasync();
      await this.persist(bits);
    });
    this.chain = run
      .catch(() => undefined)
      .finally(() => {
        this.busy = false;
        this.last = Date.now();
      });
    return run;
  }

  /** Waits for the checkpoints started so far; throws if one of them failed. */
  async settle(): Promise<void> {
    await this.chain;
    if (this.failure) throw this.failure.error;
  }
}
