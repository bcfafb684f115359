/**
 * Contract: the UNMODIFIED twilio-sync client and twilio library against the devstack Sync
 * emulator, through Conduit's adapters (TwilioSyncAdmin, TwilioSyncTokenIssuer, TwilioSyncChannel):
 * maps, items and lists.
 */
import { describe, expect, it } from 'vitest';
import { createSyncCredentials, DEFAULT_SYNC_WRITE_LIMIT, startSyncEmulator } from '@conduit/devstack';
import { TwilioSyncAdmin, TwilioSyncTokenIssuer } from '@conduit/server';
import { TwilioSyncChannel } from '@conduit/client/twilio-sync-channel';
import {
  channel,
  channels,
  eventually,
  nextEvent,
  rawClient,
  rejection,
  restMap,
  uniqueName,
  useSyncStacks,
} from './support/sync.js';

const { open, acl } = useSyncStacks();

describe('Sync emulator with unmodified twilio-sync and twilio', () => {
  it('delivers items the server publishes and client writes live, existing items across pages first', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    await open.admin.ensureMap(map); // idempotent (409 / 54301 underneath)

    const alice = await channel(open, 'alice');
    // 105 items in a row exceed Twilio's 20 writes/s per map: raised so the setup is not the test.
    open.emu.faults.setRateLimit(null);
    try {
      for (let i = 0; i < 105; i++) await open.admin.setMapItem(map, `old-${String(i).padStart(3, '0')}`, { i }, 600);
    } finally {
      open.emu.faults.setRateLimit(DEFAULT_SYNC_WRITE_LIMIT);
    }

    const bobClient = await rawClient(open, 'bob');
    const bobMap = await bobClient.map({ id: map, mode: 'open_existing' });
    const bobSees = nextEvent<{ item: { key: string; data: unknown } }>(
      bobMap,
      'itemAdded',
      (e) => e.item.key === 'from-alice',
    );

    const seenByAlice = new Map<string, unknown>();
    const unsubscribe = await alice.subscribe(map, (key, data) => seenByAlice.set(key, data));
    expect(seenByAlice.size).toBe(105); // two pages of existing items

    await open.admin.setMapItem(map, 'from-alice', { hello: 'bob' }, 600);
    expect((await bobSees).item.data).toEqual({ hello: 'bob' });

    await bobMap.set('from-bob', { hello: 'alice' });
    await eventually(() => seenByAlice.has('from-bob'));
    expect(seenByAlice.get('from-bob')).toEqual({ hello: 'alice' });

    await unsubscribe();
    await bobMap.set('after-unsubscribe', { x: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(seenByAlice.has('after-unsubscribe')).toBe(false);
  });

  it('deletes items over REST (admin and library); the subscriber sees itemRemoved; a second delete is absent', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const bobMap = await (await rawClient(open, 'bob')).map({ id: map, mode: 'open_existing' });
    await bobMap.set('p1', { n: 1 });
    await bobMap.set('p2', { n: 2 });

    const removed1 = nextEvent<{ key: string }>(bobMap, 'itemRemoved', (e) => e.key === 'p1');
    expect(await open.admin.removeMapItem(map, 'p1')).toBe('removed');
    await removed1;
    expect(await open.admin.removeMapItem(map, 'p1')).toBe('absent');

    const removed2 = nextEvent<{ key: string }>(bobMap, 'itemRemoved', (e) => e.key === 'p2');
    expect(await restMap(open, map).syncMapItems('p2').remove()).toBe(true);
    await removed2;
    const err = await rejection(restMap(open, map).syncMapItems('p2').remove());
    expect([err.status, err.code]).toEqual([404, 20404]);
    expect(await open.admin.removeMapItem(uniqueName(), 'k')).toBe('absent'); // map itself missing

    await bobMap.set('p3', { n: 3 });
    await bobMap.remove('p3'); // CDS DELETE (its body is the bare product id)
    expect((await rejection(restMap(open, map).syncMapItems('p3').fetch())).status).toBe(404);
  });

  it('serves REST create/fetch/list/update with form bodies and paging', async () => {
    const map = uniqueName();
    const created = await open.rest.sync.v1.services(open.creds.serviceSid).syncMaps.create({ uniqueName: map });
    expect(created.sid).toMatch(/^MP[0-9a-f]{32}$/);
    for (let i = 0; i < 5; i++) await restMap(open, created.sid).syncMapItems.create({ key: `k${i}`, data: { i } });
    const fetched = await restMap(open, map).syncMapItems('k3').fetch();
    expect(fetched.data).toEqual({ i: 3 });
    const updated = await restMap(open, map)
      .syncMapItems('k3')
      .update({ data: { i: 33 } });
    expect([updated.data, updated.revision]).toEqual([{ i: 33 }, '1']);
    const all = await restMap(open, map).syncMapItems.list({ pageSize: 2 });
    expect(all.map((i) => i.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    const dup = await rejection(restMap(open, map).syncMapItems.create({ key: 'k0', data: {} }));
    expect(dup.status).toBe(409);
  });

  it('refuses item data over 16 KiB with 400 / 54006 on REST and on CDS', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const big = { blob: 'x'.repeat(17 * 1024) };
    const restErr = await rejection(restMap(open, map).syncMapItems.create({ key: 'big', data: big }));
    expect([restErr.status, restErr.code]).toEqual([400, 54006]);
    const bobMap = await (await rawClient(open, 'bob')).map({ id: map, mode: 'open_existing' });
    const cdsErr = await rejection(bobMap.set('big', big));
    expect([cdsErr.status, cdsErr.code]).toEqual([400, 54006]);
  });

  it('a subscription whose map was removed re-opens it once the server has re-provisioned it', async () => {
    const map = uniqueName();
    const readOnly = { read: true, write: false, manage: false };
    await acl.admin.ensureMap(map);
    await acl.admin.setMapPermissions(map, 'dora', readOnly);
    const tokens = new TwilioSyncTokenIssuer({ ...acl.creds, ttlSeconds: 600 });
    const dora = await TwilioSyncChannel.connect({
      twilsockUri: acl.emu.twilsockUri,
      connectTimeoutMs: 5_000,
      getToken: async () => (await tokens.issue('dora')).value,
      reopenBackoff: { baseMs: 50, maxMs: 200 },
    });
    channels.push(dora);
    const seen: string[] = [];
    await dora.subscribe(map, (key) => seen.push(key));
    await acl.admin.setMapItem(map, 'before', { n: 1 }, 600);
    await eventually(() => seen.includes('before'));

    await restMap(acl, map).remove();
    // Gone for a while: re-opening fails (no such map, no grant) and is retried with backoff.
    await new Promise((r) => setTimeout(r, 400));
    await acl.admin.ensureMap(map);
    await acl.admin.setMapPermissions(map, 'dora', readOnly);
    await acl.admin.setMapItem(map, 'after', { n: 2 }, 600);
    await eventually(() => seen.includes('after'));
  });

  it('setMapItem creates or replaces an item with its TTL (idempotent), as the server publishes', async () => {
    const map = uniqueName();
    expect(await acl.admin.ensureMap(map)).toBe('created');
    expect(await acl.admin.ensureMap(map)).toBe('exists');
    await acl.admin.setMapPermissions(map, 'bob', { read: true, write: false, manage: false });
    const bob = await channel(acl, 'bob');
    const seen: unknown[] = [];
    await bob.subscribe(map, (_k, d) => seen.push(d));
    expect(await acl.admin.setMapItem(map, 'p', { n: 1 }, 600)).toBe('written');
    expect(await acl.admin.setMapItem(map, 'p', { n: 1 }, 600)).toBe('written'); // a retried publish
    await acl.admin.setMapItem(map, 'p', { n: 2 }, 1);
    await eventually(() => seen.length === 3);
    expect(seen).toEqual([{ n: 1 }, { n: 1 }, { n: 2 }]);
    const item = await restMap(acl, map).syncMapItems('p').fetch();
    expect(item.data).toEqual({ n: 2 });
    expect(item.dateExpires).not.toBeNull();
    // A map that is gone is reported, not thrown: the server re-provisions it and publishes again.
    expect(await acl.admin.setMapItem(uniqueName(), 'p', { n: 1 }, 600)).toBe('map-missing');
  });

  it("setMapItem 'existing' replaces in one request, creates what is missing, reports a missing map", async () => {
    const creds = createSyncCredentials();
    const requests: number[] = [];
    const emu = await startSyncEmulator({ ...creds, onItemWrite: (w) => requests.push(w.status) });
    try {
      const admin = new TwilioSyncAdmin({ ...creds, restBaseUrl: emu.restUrl, timeoutMs: 2_000 });
      const map = uniqueName();
      await admin.ensureMap(map);
      expect(await admin.setMapItem(map, 'feed', { seq: 1 }, 600, 'existing')).toBe('written');
      expect(await admin.setMapItem(map, 'feed', { seq: 2 }, 600, 'existing')).toBe('written');
      expect(await admin.setMapItem(map, 'feed', { seq: 3 }, 600)).toBe('written');
      // Missing: the update answers 404, the create 201; then one update (200); then 'new' on an
      // existing key: the create is refused (409) and the update follows.
      expect(requests).toEqual([404, 201, 200, 409, 200]);
      expect(await admin.setMapItem(uniqueName(), 'feed', { seq: 1 }, 600, 'existing')).toBe('map-missing');
    } finally {
      await emu.close();
    }
  });

  it('expires items after their TTL with a removed event', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const bobMap = await (await rawClient(open, 'bob')).map({ id: map, mode: 'open_existing' });
    const removed = nextEvent<{ key: string }>(bobMap, 'itemRemoved', (e) => e.key === 'short');
    await open.admin.setMapItem(map, 'short', { t: 1 }, 1);
    await removed;
    expect((await rejection(restMap(open, map).syncMapItems('short').fetch())).status).toBe(404);
  });

  it('supports Lists: create, push, live itemAdded/itemRemoved, items', async () => {
    const name = uniqueName();
    const aliceList = await (await rawClient(open, 'alice')).list(name);
    const bobList = await (await rawClient(open, 'bob')).list({ id: name, mode: 'open_existing' });
    const added = nextEvent<{ item: { index: number } }>(bobList, 'itemAdded', () => true);
    const first = await aliceList.push({ n: 1 });
    await aliceList.push({ n: 2 });
    expect((await added).item.index).toBe(first.index);
    const removed = nextEvent<{ index: number }>(bobList, 'itemRemoved', () => true);
    await aliceList.remove(first.index);
    expect((await removed).index).toBe(first.index);
    const page = await bobList.getItems({});
    expect(page.items.map((i) => i.data)).toEqual([{ n: 2 }]);
  });
});
