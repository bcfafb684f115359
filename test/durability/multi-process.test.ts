import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, HttpClient, login } from '@conduit/client';
import { DEFAULT_SYNC_WRITE_LIMIT } from '@conduit/devstack';
import { syncMapOf } from '@conduit/shared';
import { startCluster, type Cluster } from './cluster.js';
import { hex, sleep, until } from './harness.js';
import { auditChain, busiestWindow, purgesCounted, receiptsOf, writesByKey } from './witness.js';
import { World } from './world.js';

// Two API processes behind one round-robin address and two worker processes, one Redis: every
// guarantee of docs/delivery.md must hold as with one of each. Witnesses outside the processes:
// the Sync emulator's record of item writes, the verified audit chain, the ledger through the API.
const BUDGET = 4; // CONDUIT_SYNC_WRITES_PER_SECOND: low, so the shared bucket visibly paces deletes
const SETTLE_MS = 40_000;

let dir: string;
let cluster: Cluster;
let world: World;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-multiproc-'));
  cluster = await startCluster(dir, {
    apis: 2,
    workers: 2,
    env: { CONDUIT_SYNC_WRITES_PER_SECOND: String(BUDGET), CONDUIT_ADMIN_IDENTITIES: 'alice' },
  });
  world = new World(cluster.proxy.url, cluster.rest);
  await world.setup({ alice: await cluster.bootstrapCode('alice') });
});

afterAll(async () => {
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

const audit = () =>
  auditChain(cluster.proxy.url, world.tokens.get(`alice:${world.sender.deviceId}`) ?? '', world.sender.deviceId);

/** Each pointer's item was deleted exactly once (204), and has exactly one deletion receipt in the chain. */
async function expectPurgedOnce(groupId: string, pointerIds: string[]) {
  const deletes = writesByKey(cluster.writes, 'DELETE', pointerIds);
  for (const [key, ws] of deletes) {
    expect(
      ws.filter((w) => w.status === 204),
      key,
    ).toHaveLength(1);
    expect(ws.every((w) => w.map === syncMapOf(groupId))).toBe(true);
  }
  const receipts = receiptsOf(await audit(), pointerIds);
  for (const [pointerId, list] of receipts) expect(list, pointerId).toHaveLength(1);
  return { deletes, receipts };
}

describe('two API and two worker processes on one Redis', () => {
  it('purges each pointer exactly once, only after its last ack, and keeps deletes per map in the shared budget', async () => {
    const before = await Promise.all(cluster.workers.map((w) => purgesCounted(w.url)));
    const groups = new Map<string, string[]>();
    for (let g = 0; g < 2; g += 1) {
      const { groupId, objectId } = await world.group();
      groups.set(groupId, await world.pointers(groupId, objectId, 24));
    }
    const all = [...groups.values()].flat();
    const [last, ...others] = world.recipients;
    await world.ackAll(all, 6, others);
    // One endpoint still owes its ack: nothing may be deleted, however many workers look.
    await sleep(1500);
    expect([...writesByKey(cluster.writes, 'DELETE', all).values()].flat()).toEqual([]);
    for (const [groupId, ids] of groups) expect((await cluster.rest.itemKeys(groupId)).sort()).toEqual([...ids].sort());
    expect(new Set(await Promise.all(all.slice(0, 6).map(async (p) => (await world.status(p)).state)))).toEqual(
      new Set(['pending']),
    );

    const lastAcksFrom = Date.now();
    await world.ackAll(all, 6, [last!]);
    expect(await until('every pointer purged', () => world.settled(groups), SETTLE_MS)).toBe(true);

    for (const [groupId, ids] of groups) {
      const { deletes, receipts } = await expectPurgedOnce(groupId, ids);
      const accepted = [...deletes.values()].flat();
      // Two workers would each spend a bucket of their own: twice the rate, half the time.
      expect(accepted.every((w) => w.at >= lastAcksFrom)).toBe(true);
      expect(busiestWindow(accepted, 1000)).toBeLessThanOrEqual(2 * BUDGET + 1);
      const times = accepted.map((w) => w.at).sort((a, b) => a - b);
      expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((ids.length - 2 * BUDGET) / BUDGET) * 1000);
      for (const [, [receipt]] of receipts) expect(receipt?.acknowledgedBy).toHaveLength(world.recipients.length);
    }
    // Publishes (both APIs) and deletes (both workers) together stayed inside Sync's per-map limit.
    const maps = new Set([...groups.keys()].map(syncMapOf));
    expect(cluster.writes.filter((w) => maps.has(w.map) && w.status === 429)).toEqual([]);
    // Both workers purged, both APIs answered, and the counters add up to one purge per pointer.
    const after = await Promise.all(cluster.workers.map((w) => purgesCounted(w.url)));
    const done = after.map((n, i) => n - before[i]!);
    expect(done.every((n) => n > 0)).toBe(true);
    expect(done.reduce((a, b) => a + b, 0)).toBe(all.length);
    expect(cluster.proxy.answered.every((n) => n > 0)).toBe(true);
  });

  it('shares the anomaly and password-attempt limits between the APIs and purges when the last pending member leaves', async () => {
    const { groupId, objectId } = await world.group();
    const reporter = world.recipients[1]!;
    const report = (pointerId: string) =>
      world.call('POST', `/v1/groups/${groupId}/anomalies`, reporter, {
        pointerId,
        kind: 'unknown',
        code: 'POINTER_NOT_FOUND',
      });
    // One report per pointer per endpoint: the repeat lands on the other API and is not recorded.
    const first = hex();
    expect((await report(first)).body).toEqual({ recorded: true });
    expect((await report(first)).body).toEqual({ recorded: false });
    // 100 per endpoint per hour across the whole deployment, not per process.
    for (let i = 1; i < 100; i += 1) expect((await report(hex())).status).toBe(202);
    for (let i = 0; i < 2; i += 1) expect((await report(hex())).status).toBe(429);
    // Password attempts: 20 per identity per window (the default), counted once for both APIs.
    const api = new HttpClient({ baseUrl: cluster.proxy.url });
    const attempt = () => login(api, 'frank', 'not the password', 'frank-laptop');
    for (let i = 0; i < 20; i += 1) await expect(attempt()).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    await expect(attempt()).rejects.toMatchObject({ code: 'RATE_LIMITED' });

    const ids = await world.pointers(groupId, objectId, 6);
    const carol = world.recipients.filter((r) => r.identity === 'carol');
    await world.ackAll(
      ids,
      6,
      world.recipients.filter((r) => r.identity !== 'carol'),
    );
    await sleep(1000);
    expect(await cluster.rest.itemKeys(groupId)).toHaveLength(ids.length);
    const removed = await world.call('DELETE', `/v1/groups/${groupId}/members/carol`, world.sender);
    expect(removed.status).toBe(204);
    expect(await until('purged', () => world.settled(new Map([[groupId, ids]])), SETTLE_MS)).toBe(true);
    const { receipts } = await expectPurgedOnce(groupId, ids);
    for (const [, [receipt]] of receipts) {
      expect(receipt?.reason).toBe('member-removed');
      expect(receipt?.dropped?.sort()).toEqual(carol.map((c) => `${c.identity}:${c.deviceId}`).sort());
    }
  });

  it('finishes the drain on the other worker when one is killed with SIGKILL mid-drain', async () => {
    const { groupId, objectId } = await world.group();
    const ids = await world.pointers(groupId, objectId, 40);
    const groups = new Map([[groupId, ids]]);
    const [victim, survivor] = cluster.workers;
    const before = await purgesCounted(survivor!.url);
    cluster.sync.faults.setRateLimit(5);
    try {
      await world.ackAll(ids);
      await until(
        'purging to start',
        async () => ((await cluster.rest.itemKeys(groupId)).length < 40 ? true : undefined),
        15_000,
      );
      await victim!.proc.stop('SIGKILL');
      expect((await cluster.rest.itemKeys(groupId)).length).toBeGreaterThan(0);
      // The survivor alone: its relay re-drives what the victim's had taken, BullMQ hands it the
      // victim's active jobs once their locks expire.
      expect(await until('the survivor drains', () => world.settled(groups), SETTLE_MS)).toBe(true);
    } finally {
      cluster.sync.faults.setRateLimit(DEFAULT_SYNC_WRITE_LIMIT);
    }
    await expectPurgedOnce(groupId, ids);
    expect(await purgesCounted(survivor!.url)).toBeGreaterThan(before);
    await victim!.start();
  });

  it('retries a send on the other API when the one handling it is killed mid-request', async () => {
    const open = async (identity: string, device: string) =>
      ConduitClient.open(cluster.clientOptions(join(dir, 'homes', device), identity));
    const dana = await open('dana', 'dana-laptop');
    const erinPhone = await open('erin', 'erin-phone');
    const erinLaptop = await open('erin', 'erin-laptop');
    try {
      await dana.register('dana password 1');
      await erinPhone.register('erin password 1');
      await erinLaptop.login('erin password 1');
      const group = await dana.createGroup(['erin']);

      let killed: number | undefined;
      cluster.proxy.onForwarded = (f) => {
        if (f.method !== 'POST' || !f.path.endsWith('/pointers')) return;
        cluster.proxy.onForwarded = undefined;
        killed = f.upstream;
        cluster.apis[f.upstream]!.proc.signal('SIGKILL');
      };
      const plaintext = randomBytes(50_000);
      const source = join(dir, 'scan.bin');
      await writeFile(source, plaintext);
      const sent = await dana.sendFile(group.groupId, source);
      expect(killed).toBeDefined();
      expect(cluster.proxy.failedMidRequest.map((f) => f.upstream)).toContain(killed);
      expect(cluster.apis[killed!]!.proc.alive).toBe(false);

      for (const [client, name] of [
        [erinPhone, 'phone'],
        [erinLaptop, 'laptop'],
      ] as const) {
        const got = await client.receiveNext(group.groupId, { outDir: join(dir, `${name}-inbox`), timeoutMs: 20_000 });
        expect(got.pointerId).toBe(sent.pointerId);
        expect((await readFile(got.path)).equals(plaintext)).toBe(true);
      }
      await until(
        'purged',
        async () => ((await dana.status(sent.pointerId)).state === 'purged' ? true : undefined),
        SETTLE_MS,
      );
      const publishes = writesByKey(cluster.writes, 'POST', [sent.pointerId]).get(sent.pointerId)!;
      expect(publishes.filter((w) => w.status < 300).length).toBeGreaterThanOrEqual(1);
      await expectPurgedOnce(group.groupId, [sent.pointerId]);
      await cluster.apis[killed!]!.start();
    } finally {
      cluster.proxy.onForwarded = undefined;
      for (const c of [dana, erinPhone, erinLaptop]) await c.close();
    }
  });
});
