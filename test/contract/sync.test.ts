/**
 * Contract: the UNMODIFIED twilio-sync client and twilio library against the devstack Sync
 * emulator, through Conduit's adapters (TwilioSyncAdmin, TwilioSyncTokenIssuer, TwilioSyncChannel).
 */
import { randomBytes } from 'node:crypto';
import { ConduitError } from '@conduit/shared';
import twilio from 'twilio';
import { SyncClient, type SyncList, type SyncMap } from 'twilio-sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createSyncCredentials,
  startSyncEmulator,
  type SyncCredentials,
  type SyncEmulator,
  DEFAULT_SYNC_WRITE_LIMIT,
} from '@conduit/devstack';
import {
  LocalSyncHttpClient,
  SyncRateLimitedError,
  SyncUnavailableError,
  TwilioSyncAdmin,
  TwilioSyncTokenIssuer,
} from '@conduit/server';
import { TwilioSyncChannel } from '@conduit/client';

interface Stack {
  creds: SyncCredentials;
  emu: SyncEmulator;
  admin: TwilioSyncAdmin;
  tokens: TwilioSyncTokenIssuer;
  rest: ReturnType<typeof twilio>;
}

const clients: SyncClient[] = [];
const channels: TwilioSyncChannel[] = [];
let open: Stack;
let acl: Stack;

async function startStack(aclEnabled: boolean): Promise<Stack> {
  const creds = createSyncCredentials();
  const emu = await startSyncEmulator({ ...creds, aclEnabled });
  return {
    creds,
    emu,
    admin: new TwilioSyncAdmin({ ...creds, restBaseUrl: emu.restUrl, timeoutMs: 2_000 }),
    tokens: new TwilioSyncTokenIssuer({ ...creds, ttlSeconds: 600 }),
    // The direct library path authenticates with the API key, the admin with the auth token.
    rest: twilio(creds.apiKeySid, creds.apiKeySecret, {
      accountSid: creds.accountSid,
      httpClient: new LocalSyncHttpClient(emu.restUrl, { timeout: 2_000 }),
    }),
  };
}

const uniqueName = (): string => `g_${randomBytes(8).toString('hex')}`;
const restMap = (s: Stack, map: string) => s.rest.sync.v1.services(s.creds.serviceSid).syncMaps(map);

async function rawClient(s: Stack, identity: string, token?: string): Promise<SyncClient> {
  const client = new SyncClient(token ?? (await s.tokens.issue(identity)).value, {
    twilsock: { uri: s.emu.twilsockUri },
  });
  clients.push(client);
  return client;
}

async function channel(s: Stack, identity: string, ttlSeconds = 600, onToken?: () => void): Promise<TwilioSyncChannel> {
  const tokens = new TwilioSyncTokenIssuer({ ...s.creds, ttlSeconds });
  const ch = await TwilioSyncChannel.connect({
    twilsockUri: s.emu.twilsockUri,
    connectTimeoutMs: 5_000,
    getToken: async () => {
      onToken?.();
      return (await tokens.issue(identity)).value;
    },
  });
  channels.push(ch);
  return ch;
}

function waitForState(client: SyncClient, state: string, timeoutMs = 5_000): Promise<void> {
  if (client.connectionState === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${state}' within ${timeoutMs} ms`)), timeoutMs);
    client.on('connectionStateChanged', (s) => {
      if (s === state) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Resolves with the first event payload matching `match`. */
function nextEvent<T>(
  emitter: SyncMap | SyncList,
  event: 'itemAdded' | 'itemRemoved',
  match: (e: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const on = emitter.on as unknown as (this: typeof emitter, ev: string, listener: (e: T) => void) => void;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching '${event}' within ${timeoutMs} ms`)), timeoutMs);
    on.call(emitter, event, (e: T) => {
      if (match(e)) {
        clearTimeout(timer);
        resolve(e);
      }
    });
  });
}

/** Polls until `check` returns true. */
async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  [open, acl] = await Promise.all([startStack(false), startStack(true)]);
});

afterAll(async () => {
  await Promise.all(channels.map((c) => c.close().catch(() => undefined)));
  // shutdown() never settles from some client states: bound it.
  const bounded = (p: Promise<void>) =>
    Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
  await Promise.all(clients.map((c) => bounded(c.shutdown())));
  await Promise.all([open?.emu.close(), acl?.emu.close()]);
});

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

  it('denies bad tokens: the client goes denied and the channel reports UNAUTHENTICATED', async () => {
    const wrongSecret = new TwilioSyncTokenIssuer({ ...open.creds, apiKeySecret: 'not-the-secret', ttlSeconds: 600 });
    const client = await rawClient(open, 'mallory', (await wrongSecret.issue('mallory')).value);
    await waitForState(client, 'denied');

    const otherService = new TwilioSyncTokenIssuer({
      ...open.creds,
      serviceSid: `IS${'0'.repeat(32)}`,
      ttlSeconds: 600,
    });
    const err = await rejection(
      TwilioSyncChannel.connect({
        twilsockUri: open.emu.twilsockUri,
        connectTimeoutMs: 5_000,
        getToken: async () => (await otherService.issue('mallory')).value,
      }),
    );
    expect(err).toBeInstanceOf(ConduitError);
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('enforces map permissions when ACL is enabled', async () => {
    const map = uniqueName();
    await acl.admin.ensureMap(map);
    await restMap(acl, map).syncMapItems.create({ key: 'secret', data: { s: 1 } });

    const carol = await channel(acl, 'carol');
    expect((await rejection(carol.subscribe(map, () => undefined))).code).toBe('FORBIDDEN');
    const raw = await rawClient(acl, 'carol');
    expect((await rejection(raw.map({ id: map, mode: 'open_existing' }))).status).toBe(403);
    expect((await rejection(raw.map({ id: uniqueName() }))).status).toBe(403); // clients cannot create

    await acl.admin.setMapPermissions(map, 'carol', { read: true, write: false, manage: false });
    const seen = new Map<string, unknown>();
    await carol.subscribe(map, (k, d) => seen.set(k, d));
    expect(seen.get('secret')).toEqual({ s: 1 });
    // Read-only (what every group member gets): no create, overwrite, update or delete, as on Twilio.
    const carolMap = await raw.map({ id: map, mode: 'open_existing' });
    const forbidden = [403, 54007];
    const codes = (e: Record<string, unknown>) => [e.status, e.code];
    expect(codes(await rejection(carolMap.set('mine', { m: 1 })))).toEqual(forbidden);
    expect(codes(await rejection(carolMap.set('secret', { s: 2 })))).toEqual(forbidden);
    expect(codes(await rejection(carolMap.update('secret', { s: 3 })))).toEqual(forbidden);
    expect(codes(await rejection(carolMap.remove('secret')))).toEqual(forbidden);
    expect((await restMap(acl, map).syncMapItems('secret').fetch()).data).toEqual({ s: 1 });

    await acl.admin.setMapPermissions(map, 'carol', { read: true, write: true, manage: false });
    await carolMap.set('mine', { m: 1 });
    await eventually(() => seen.has('mine'));
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

  it('expires items after their TTL with a removed event', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const bobMap = await (await rawClient(open, 'bob')).map({ id: map, mode: 'open_existing' });
    const removed = nextEvent<{ key: string }>(bobMap, 'itemRemoved', (e) => e.key === 'short');
    await open.admin.setMapItem(map, 'short', { t: 1 }, 1);
    await removed;
    expect((await rejection(restMap(open, map).syncMapItems('short').fetch())).status).toBe(404);
  });

  it('rate-limits writes per map: REST 429 / 54009 with Retry-After, SyncRateLimitedError, CDS 429', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const bobMap = await (await rawClient(open, 'bob')).map({ id: map, mode: 'open_existing' });
    open.emu.faults.setRateLimit(2);
    try {
      await restMap(open, map).syncMapItems.create({ key: 'a', data: {} });
      await restMap(open, map).syncMapItems.create({ key: 'b', data: {} });
      const err = await rejection(restMap(open, map).syncMapItems.create({ key: 'c', data: {} }));
      expect([err.status, err.code]).toEqual([429, 54009]);
      const limited = await rejection(open.admin.removeMapItem(map, 'a')); // deletes count too
      expect(limited).toBeInstanceOf(SyncRateLimitedError);
      expect(limited.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(limited.retryAfterMs).toBe(1_000);
      const cds = await rejection(bobMap.set('d', {})); // PUT is not retried by the client
      expect([cds.status, cds.code]).toEqual([429, 54009]);
    } finally {
      open.emu.faults.setRateLimit(DEFAULT_SYNC_WRITE_LIMIT);
    }
    expect(await open.admin.removeMapItem(map, 'a')).toBe('removed');
  });

  it('reports 5xx and timeouts as SyncUnavailableError', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    open.emu.faults.failNextRest(1, 503);
    const failed = await rejection(open.admin.removeMapItem(map, 'x'));
    expect(failed).toBeInstanceOf(SyncUnavailableError);
    expect(failed.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(await open.admin.removeMapItem(map, 'x')).toBe('absent'); // only one failure was injected

    const impatient = new TwilioSyncAdmin({ ...open.creds, restBaseUrl: open.emu.restUrl, timeoutMs: 200 });
    open.emu.faults.delayNextRest(1, 1_000);
    const timedOut = await rejection(impatient.ensureMap(uniqueName()));
    expect(timedOut).toBeInstanceOf(SyncUnavailableError);
    expect(String(timedOut.message)).toContain('timeout');
  });

  it('survives dropped sockets: the client reconnects, replays missed events and gets new ones', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const bobClient = await rawClient(open, 'bob');
    const bobMap = await bobClient.map({ id: map, mode: 'open_existing' });
    const alice = await channel(open, 'alice');
    const aliceKeys = new Set<string>();
    await alice.subscribe(map, (key) => aliceKeys.add(key));
    const keys = new Set<string>();
    bobMap.on('itemAdded', ({ item }: { item: { key: string } }) => keys.add(item.key));
    await open.admin.setMapItem(map, 'before', { n: 0 }, 600);
    await eventually(() => keys.has('before'));

    open.emu.faults.dropSockets();
    await restMap(open, map).syncMapItems.create({ key: 'while-down', data: { n: 1 } });
    await waitForState(bobClient, 'connected', 10_000);
    await eventually(() => keys.has('while-down'), 10_000);
    await open.admin.setMapItem(map, 'after', { n: 2 }, 600);
    await eventually(() => keys.has('after'));
    await eventually(() => aliceKeys.has('while-down') && aliceKeys.has('after'), 10_000); // the channel too
  });

  it('refreshes the token before it expires and keeps working', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    let issued = 0;
    const dave = await channel(open, 'dave', 3, () => issued++);
    await eventually(() => issued >= 2, 5_000);
    await new Promise((r) => setTimeout(r, 1_500)); // past the first token's expiry
    const seen = new Map<string, unknown>();
    await dave.subscribe(map, (k, d) => seen.set(k, d));
    await open.admin.setMapItem(map, 'still-here', { ok: true }, 60);
    await eventually(() => seen.has('still-here'));
    expect(seen.get('still-here')).toEqual({ ok: true });
  });

  it('ends access when the token expires if its refresh is refused (a revoked device)', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const tokens = new TwilioSyncTokenIssuer({ ...open.creds, ttlSeconds: 3 });
    let issued = 0;
    const errors: unknown[] = [];
    const ch = await TwilioSyncChannel.connect({
      twilsockUri: open.emu.twilsockUri,
      connectTimeoutMs: 5_000,
      // As the server answers once the device is revoked: the first token, then DEVICE_REVOKED.
      getToken: async () => {
        issued += 1;
        if (issued > 1) throw new ConduitError('DEVICE_REVOKED');
        return (await tokens.issue('erin')).value;
      },
      onError: (err) => errors.push(err),
    });
    channels.push(ch);
    const received: string[] = [];
    await ch.subscribe(map, (key) => received.push(key));
    await open.admin.setMapItem(map, 'before', { n: 0 }, 60); // the token still lives
    await eventually(() => received.includes('before'));
    await eventually(() => errors.some((e) => e instanceof ConduitError && e.code === 'DEVICE_REVOKED'));

    // At expiry the service closes the connection: no more reads, no more live events.
    await new Promise((r) => setTimeout(r, 3_500));
    await expect(ch.subscribe(map, () => undefined)).rejects.toMatchObject({ code: 'DEVICE_REVOKED' });
    await restMap(open, map).syncMapItems.create({ key: 'by-others', data: { n: 2 } });
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toEqual(['before']);
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

  it('answers malformed Twilsock input with a protocol close instead of crashing', async () => {
    const ws = new WebSocket(open.emu.twilsockUri);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const frames: string[] = [];
    ws.on('message', (d: Buffer) => frames.push(d.toString('utf8')));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.from('HELLO V9\r\n{}'));
    expect(await closed).toBe(1002);
    expect(frames[0]).toContain('"code":406');
    // The emulator still serves others.
    expect(await open.admin.removeMapItem(uniqueName(), 'k')).toBe('absent');
  });
});
