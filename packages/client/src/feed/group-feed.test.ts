import type { FeedNotificationV1, GroupId, PointerChannel } from '@conduit/shared';
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
  const session: FeedSession = {
    assertOpen: () => undefined,
    enqueue: (step) => {
      work = work.then(step).catch(() => undefined);
    },
    channel: async () => channel,
    log: () => undefined,
    api: { restoreGroupSync: async () => ({}) as never },
  };
  return { session, settled: () => work };
}

const fileItem = (n: number) => ({ v: 1, kind: 'file', id: n.toString(16).padStart(32, '0') });
const hex = (n: number) => n.toString(16).padStart(32, '0');
/** A record pointer as servers before the feed notification published them: ignored now. */
const legacyRecordItem = (n: number) => ({ v: 1, kind: 'record', id: hex(n), groupId: GROUP, seq: n });
const notification = (seq: number): FeedNotificationV1 => ({ v: 1, kind: 'feed', groupId: GROUP, seq });

describe('GroupFeed', () => {
  it('shares one subscription per map, hands files to every listener (late ones get what is present) and the feed notification to records once', async () => {
    const { channel, subs } = fakeChannel({ a: fileItem(1), r: legacyRecordItem(2), feed: notification(5) });
    const { session, settled } = fakeSession(channel);
    const notified: FeedNotificationV1[] = [];
    const feed = new GroupFeed({
      session,
      mapOf: async () => 'map',
      notifyRecords: async (_gid, n) => void notified.push(n),
    });
    const seen1: string[] = [];
    const seen2: string[] = [];
    const detach1 = await feed.attach(GROUP, { file: async (key) => void seen1.push(key) });
    const detach2 = await feed.attach(GROUP, { file: async (key) => void seen2.push(key) });
    subs[0]?.onItem('b', fileItem(3));
    subs[0]?.onItem('feed', notification(9));
    subs[0]?.onItem('feed', { ...notification(10), extra: 1 }); // strict schema: ignored
    await settled();
    expect(subs).toHaveLength(1);
    expect(seen1).toEqual(['a', 'b']);
    expect(seen2).toEqual(['a', 'b']);
    expect(notified).toEqual([notification(5), notification(9)]);

    await detach1();
    expect(subs[0]?.open).toBe(true);
    await detach2();
    expect(subs[0]?.open).toBe(false);
    await feed.attach(GROUP, {});
    expect(subs).toHaveLength(2); // reopened after the last listener left
  });

  it('does not report the feed item expiring as a removed pointer', async () => {
    const { channel, subs } = fakeChannel({ feed: notification(1), a: fileItem(1) });
    const { session, settled } = fakeSession(channel);
    const removed: string[] = [];
    const feed = new GroupFeed({ session, mapOf: async () => 'map', notifyRecords: async () => undefined });
    await feed.attach(GROUP, { removed: async (key) => void removed.push(key) });
    subs[0]?.onRemoved?.('feed');
    subs[0]?.onRemoved?.('a');
    await settled();
    expect(removed).toEqual(['a']);
  });
});
