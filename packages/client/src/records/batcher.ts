import { ConduitError, MAX_RECORD_BATCH_ITEMS } from '@conduit/shared';
import type { PutRecordBatchItem, RecordBatchItemResult, RecordBatchResult } from '@conduit/shared';

/** A batch is sent once its items' JSON reaches this (the route accepts 1 MiB). */
export const BATCH_FLUSH_BYTES = 512 * 1024;
/**
 * Batches of one group in flight at once: beyond that, puts wait and fill the next batches, so a
 * burst of puts becomes a few full requests rather than many small ones.
 */
export const MAX_BATCHES_IN_FLIGHT = 4;

interface Pending {
  item: PutRecordBatchItem;
  bytes: number;
  resolve: (result: RecordBatchItemResult) => void;
  reject: (err: unknown) => void;
}

/** The JSON an item adds to the request body (ids and flags are under 300 bytes). */
const itemBytes = (item: PutRecordBatchItem): number => item.envelope.length + 300;

/**
 * Coalesces the versions submitted by concurrent puts of one group into batch requests: a batch
 * leaves on the next macrotask, or as soon as it holds MAX_RECORD_BATCH_ITEMS items or
 * BATCH_FLUSH_BYTES, whichever comes first. Each submitter gets its own item's result, in the
 * order it submitted (the server appends a batch in request order). A failed request fails every
 * item of its batch.
 */
export class RecordBatcher {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = 0;

  constructor(private readonly send: (versions: PutRecordBatchItem[]) => Promise<RecordBatchResult>) {}

  submit(item: PutRecordBatchItem): Promise<RecordBatchItemResult> {
    return new Promise((resolve, reject) => {
      const bytes = itemBytes(item);
      this.queue.push({ item, bytes, resolve, reject });
      this.queuedBytes += bytes;
      if (this.queue.length >= MAX_RECORD_BATCH_ITEMS || this.queuedBytes >= BATCH_FLUSH_BYTES) this.flush();
      else
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.flush();
        }, 0);
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < MAX_BATCHES_IN_FLIGHT) {
      const batch = this.take();
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
    }
  }

  /** The oldest items that fit one request (at least one). */
  private take(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < MAX_RECORD_BATCH_ITEMS) {
      const next = (this.queue[n] as Pending).bytes;
      if (n > 0 && bytes + next > BATCH_FLUSH_BYTES) break;
      bytes += next;
      n += 1;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, n);
  }

  private async run(batch: Pending[]): Promise<void> {
    try {
      const { results } = await this.send(batch.map((p) => p.item));
      if (results.length !== batch.length) {
        throw new ConduitError('TRANSPORT', 'The server answered a record batch with a different number of results.');
      }
      batch.forEach((p, i) => p.resolve(results[i] as RecordBatchItemResult));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
