import { ConduitError } from '@conduit/shared';
import type { GroupId, PointerChannel, RecordPointerV1 } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { GroupFeed } from './group-feed.js';
import type { FeedSession } from './group-feed.js';

const GROUP = 'ab'.repeat(16) as GroupId;

/** A channel whose one map holds `items`; counts subscriptions and lets the test push live events. */
function fakeChannel(items: Record<string, unknown>) {
  const subs: Array<{ onItem: (k: string, d: unknown) => void; onRemoved?: (k: string) => void; open: boolean }> = [];
  const channel: PointerChannel = {
    async subscribe(_map, onItem, onRemoved) {
      const sub = { onItem, onRemoved, open: true };
      subs.push(sub);
      for (const [k, d] of Object.entries(items)) onItem(k, d);
      return async () => {
        sub.open = false;
      };
    },
    async close() {},
  } as PointerChannel;
  return { channel, subs };
}

function fakeSession(channel: PointerChannel) {
  let work = Promise.resolve();
  const anomalies: unknown[] = [];
  const session: FeedSession = {
    assertOpen: () => undefined,
    enqueue: (step) => {
      work = work.then(step).catch(() => undefined);
    },
    channel: async () => channel,
    log: () => undefined,
    api: {
      restoreGroupSync: async () => ({}) as never,
      reportAnomaly: async (_gid, body) => {
        anomalies.push(body);
        return {} as never;
      },
    },
  };
  return { session, anomalies, settled: () => work };
}

const fileItem = (n: number) => ({ v: 1, kind: 'file', id: n.toString(16).padStart(32, '0') });
const hex = (n: number) => n.toString(16).padStart(32, '0');
const recordItem = (n: number): RecordPointerV1 => ({
  v: 1,
  kind: 'record',
  id: hex(n),
  groupId: GROUP,
  sender: { identity: 'alice', deviceId: 'alice-laptop' },
  recordId: hex(n + 1),
  versionId: hex(n + 2),
  parentVersionId: null,
  seq: n,
  deleted: true,
  objectId: null,
  size: 0,
  envelope: 'ZW52',
  createdAt: new Date(0).toISOString(),
});

describe('GroupFeed', () => {
  it('shares one subscription per map, hands files to every listener (late ones get what is present) and applies records once', async () => {
    const { channel, subs } = fakeChannel({ a: fileItem(1), r: recordItem(2) });
    const { session, settled } = fakeSession(channel);
    const applied: unknown[] = [];
    const feed = new GroupFeed({
      session,
      mapOf: async () => 'map',
      applyRecord: async (_gid, pointer) => void applied.push(pointer),
    });
    const seen1: string[] = [];
    const seen2: string[] = [];
    const detach1 = await feed.attach(GROUP, { file: async (key) => void seen1.push(key) });
    const detach2 = await feed.attach(GROUP, { file: async (key) => void seen2.push(key) });
    subs[0]?.onItem('b', fileItem(3));
    await settled();
    expect(subs).toHaveLength(1);
    expect(seen1).toEqual(['a', 'b']);
    expect(seen2).toEqual(['a', 'b']);
    expect(applied).toHaveLength(1);

    await detach1();
    expect(subs[0]?.open).toBe(true);
    await detach2();
    expect(subs[0]?.open).toBe(false);
    await feed.attach(GROUP, {});
    expect(subs).toHaveLength(2); // reopened after the last listener left
  });

  it('reports a record pointer the ledger does not know, and tells the file listeners', async () => {
    const key = 'cd'.repeat(16);
    const { channel } = fakeChannel({ [key]: recordItem(4) });
    const { session, anomalies, settled } = fakeSession(channel);
    const failed: string[] = [];
    const feed = new GroupFeed({
      session,
      mapOf: async () => 'map',
      applyRecord: async () => {
        throw new ConduitError('POINTER_NOT_FOUND');
      },
    });
    await feed.attach(GROUP, { recordFailed: (err) => failed.push(err.code) });
    await settled();
    expect(failed).toEqual(['POINTER_NOT_FOUND']);
    expect(anomalies).toEqual([{ pointerId: key, kind: 'unknown', code: 'POINTER_NOT_FOUND' }]);
  });
});
