import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import type { JsonValue, RecordEntry } from '@conduit/client';
import { DEFAULT_SYNC_WRITE_LIMIT, startLocalStack, type LocalStack } from '@conduit/devstack';
import { DEFAULT_INLINE_MAX_BYTES, syncMapOf } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

// Records at scale on the real local stack with Twilio's default per-object write limit (20/s):
// concurrent puts travel in batch requests, the watching endpoint learns of them from one
// coalesced Sync notification and pulls the feed, and a fresh device catches up on all of them.
describe('end to end: batched records under the Sync write limit', () => {
  const RECORDS = 300;
  let dir: string;
  let stack: LocalStack;
  const clients: ConduitClient[] = [];

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
  };
  /** Every 10th value is larger than the inline limit (an S3 object); the rest travel inline. */
  const valueOf = (i: number): JsonValue =>
    i % 10 === 0 ? { i, body: 'x'.repeat(DEFAULT_INLINE_MAX_BYTES + 500) } : { i, title: `item ${i}` };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-records-batched-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack'), syncWriteLimit: DEFAULT_SYNC_WRITE_LIMIT });
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a watcher gets every change of 300 concurrent puts, and a fresh device catches up on all', async () => {
    const alice = await open('alice', 'alice-laptop');
    await alice.register('alice password 1');
    const bob = await open('bob', 'bob-phone');
    await bob.register('bob password 12');
    const group = await alice.createGroup(['bob']);

    const watched = await bob.records(group.groupId);
    const changes = new Map<string, RecordEntry>();
    watched.onChange((e) => changes.set(e.versionId, e));
    const stop = await watched.watch();

    const writer = await alice.records(group.groupId);
    const keys = Array.from({ length: RECORDS }, (_, i) => `item/${i}`);
    const written = await Promise.all(keys.map((key, i) => writer.put(key, valueOf(i))));
    expect(new Set(written.map((w) => w.seq)).size).toBe(RECORDS);

    const deadline = Date.now() + 60_000;
    while (written.some((w) => !changes.has(w.versionId)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await stop();
    expect(written.filter((w) => !changes.has(w.versionId))).toEqual([]);
    for (const [i, key] of keys.entries()) expect(watched.get(key)?.value).toEqual(valueOf(i));

    // One Sync item, rewritten at most once per notify interval: never near the 20/s limit.
    const stats = await stack.inspect.syncWriteStats(syncMapOf(group.groupId));
    expect(stats.refused).toBe(0);
    expect(stats.maxPerSecond).toBeLessThanOrEqual(DEFAULT_SYNC_WRITE_LIMIT.perSecond / 2);
    expect(stats.writes).toBeLessThan(RECORDS / 5);

    const tablet = await open('bob', 'bob-tablet');
    await tablet.login('bob password 12');
    const fresh = await tablet.records(group.groupId);
    expect(await fresh.sync()).toBe(RECORDS);
    for (const [i, key] of keys.entries()) expect(fresh.get(key)?.value).toEqual(valueOf(i));
    expect(fresh.list().map((e) => e.versionId)).toEqual(watched.list().map((e) => e.versionId));
  });
});
