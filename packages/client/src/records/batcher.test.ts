import { randomBytes } from 'node:crypto';
import { ConduitError, MAX_RECORD_BATCH_ITEMS } from '@conduit/shared';
import type { PutRecordBatchItem, RecordBatchItemResult, RecordBatchResult } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { BATCH_FLUSH_BYTES, MAX_BATCHES_IN_FLIGHT, RecordBatcher } from './batcher.js';
import { FeedPuller } from './feed-pull.js';

const hex = () => randomBytes(16).toString('hex');
const item = (envelopeChars = 8): PutRecordBatchItem => ({
  recordId: hex(),
  versionId: hex(),
  parentVersionId: null,
  pointerId: hex(),
  objectId: null,
  deleted: false,
  envelope: 'A'.repeat(envelopeChars),
});
/** Each item's result names its own versionId, so a test can see who got which. */
const failedFor = (i: PutRecordBatchItem): RecordBatchItemResult => ({
  status: 'failed',
  code: 'VALIDATION_FAILED',
  message: i.versionId,
});
const tick = () => new Promise((r) => setTimeout(r, 0));

/** A server stand-in that records each batch and answers when the test releases it. */
function server() {
  const batches: PutRecordBatchItem[][] = [];
  const pending: Array<() => void> = [];
  const send = (versions: PutRecordBatchItem[]): Promise<RecordBatchResult> => {
    batches.push(versions);
    return new Promise((resolve) => pending.push(() => resolve({ results: versions.map(failedFor) })));
  };
  const releaseAll = async () => {
    while (pending.length > 0) {
      pending.shift()?.();
      await tick();
    }
  };
  return { batches, send, releaseAll };
}

describe('RecordBatcher', () => {
  it('coalesces puts submitted together into one request and answers each with its own result', async () => {
    const s = server();
    const batcher = new RecordBatcher(s.send);
    const items = Array.from({ length: 5 }, () => item());
    const results = items.map((i) => batcher.submit(i));
    expect(s.batches).toHaveLength(0); // not before the next macrotask
    await tick();
    expect(s.batches).toEqual([items]);
    await s.releaseAll();
    expect((await Promise.all(results)).map((r) => (r as { message: string }).message)).toEqual(
      items.map((i) => i.versionId),
    );
  });

  it('sends a full batch at once, splits by item count and by bytes, and keeps order', async () => {
    const s = server();
    const batcher = new RecordBatcher(s.send);
    const items = Array.from({ length: MAX_RECORD_BATCH_ITEMS + 10 }, () => item());
    const results = items.map((i) => batcher.submit(i));
    expect(s.batches.map((b) => b.length)).toEqual([MAX_RECORD_BATCH_ITEMS]); // without waiting
    await tick();
    expect(s.batches.map((b) => b.length)).toEqual([MAX_RECORD_BATCH_ITEMS, 10]);
    expect(s.batches.flat()).toEqual(items);
    await s.releaseAll();
    await Promise.all(results);

    const big = Array.from({ length: 3 }, () => item(BATCH_FLUSH_BYTES / 2));
    const bigResults = big.map((i) => batcher.submit(i));
    await tick();
    expect(s.batches.slice(2).map((b) => b.length)).toEqual([1, 1, 1]);
    await s.releaseAll();
    await Promise.all(bigResults);
  });

  it('holds puts while MAX_BATCHES_IN_FLIGHT requests run, then sends them in full batches', async () => {
    const s = server();
    const batcher = new RecordBatcher(s.send);
    const first = Array.from({ length: MAX_BATCHES_IN_FLIGHT * MAX_RECORD_BATCH_ITEMS }, () => item());
    const waiting = Array.from({ length: 150 }, () => item());
    const all = [...first, ...waiting].map((i) => batcher.submit(i));
    await tick();
    expect(s.batches).toHaveLength(MAX_BATCHES_IN_FLIGHT);
    await s.releaseAll();
    expect(s.batches.slice(MAX_BATCHES_IN_FLIGHT).map((b) => b.length)).toEqual([100, 50]);
    await Promise.all(all);
  });

  it('fails every item of a batch whose request failed, and keeps working', async () => {
    let fail = true;
    const batcher = new RecordBatcher(async (versions) => {
      if (fail) throw new ConduitError('TRANSPORT', 'lost');
      return { results: versions.map(failedFor) };
    });
    const failed = [batcher.submit(item()), batcher.submit(item())];
    for (const p of failed) await expect(p).rejects.toMatchObject({ code: 'TRANSPORT' });
    fail = false;
    await expect(batcher.submit(item())).resolves.toMatchObject({ status: 'failed' });
  });

  it('refuses an answer with a different number of results', async () => {
    const batcher = new RecordBatcher(async () => ({ results: [] }));
    await expect(batcher.submit(item())).rejects.toMatchObject({ code: 'TRANSPORT' });
  });
});

describe('FeedPuller', () => {
  it('runs one pull at a time, and a request during a pull causes exactly one more', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const puller = new FeedPuller(
      () =>
        new Promise<void>((r) => {
          runs += 1;
          release = r;
        }),
      () => undefined,
    );
    const first = puller.request();
    await tick();
    expect(runs).toBe(1);
    const during = [puller.request(), puller.request(), puller.request()];
    release();
    await tick();
    expect(runs).toBe(2); // the three requests share one more pull
    release();
    await Promise.all([first, ...during]);
    expect(runs).toBe(2);
    const later = puller.request();
    await tick();
    release();
    await later;
    expect(runs).toBe(3);
  });

  it('keeps pulling after a failed pull, and polls while watched', async () => {
    let runs = 0;
    const puller = new FeedPuller(
      async () => {
        runs += 1;
        throw new ConduitError('TRANSPORT');
      },
      () => undefined,
      10,
    );
    await puller.request();
    expect(runs).toBe(1);
    const stop = puller.watch();
    await new Promise((r) => setTimeout(r, 60));
    stop();
    const polled = runs;
    expect(polled).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 40));
    expect(runs).toBe(polled);
  });
});
