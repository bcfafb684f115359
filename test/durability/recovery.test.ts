import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_WRITE_LIMIT } from '@conduit/devstack';
import { sleep, startApi, startParts, startWorkerProc, until, type Parts } from './harness.js';
import { World } from './world.js';

// Crashes and faults mid-flow, against real parts: the API and the worker are child processes
// killed with SIGKILL, Redis is a redis-server this file starts (AOF, fsync always) and kills, Sync
// is the emulator with injected 429s, 5xx and delays. After each, the system must recover on its
// own: every confirmed ack on record, every pointer 'purged', every Sync item gone.
const POINTERS = 24;
const RECOVERY_MS = 25_000;

let dir: string;
let parts: Parts;
let world: World;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-durability-'));
  parts = await startParts(dir);
  world = new World(parts.apiUrl, parts.rest);
  await world.setup();
});

afterAll(async () => {
  await parts?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Resolves once `world.acksSent` reached `n` (the acks are in flight around the crash). */
const afterAcks = (n: number) => until(`${n} acks sent`, async () => (world.acksSent >= n ? true : undefined), 15_000);

async function flow(count = POINTERS) {
  const { groupId, objectId } = await world.group();
  const pointerIds = await world.pointers(groupId, objectId, count);
  expect(await parts.rest.itemKeys(groupId)).toHaveLength(count);
  return { groups: new Map([[groupId, pointerIds]]), pointerIds };
}

describe('durability', () => {
  it('loses no ack and leaves no item when the API is killed with SIGKILL mid-acks', async () => {
    const { groups, pointerIds } = await flow();
    const base = world.acksSent;
    const acking = world.ackAll(pointerIds);
    await afterAcks(base + 40);
    await parts.api.stop('SIGKILL');
    await sleep(300);
    await startApi(parts);
    await acking;
    expect(await until('recovery', () => world.settled(groups), RECOVERY_MS)).toBe(true);
  });

  it('purges everything when the worker is killed with SIGKILL mid-purges', async () => {
    const { groups, pointerIds } = await flow(40);
    const [groupId] = [...groups.keys()];
    // Sync takes 5 deletes/s from this map, so the 40 take seconds and the kill below lands
    // part-way even when a loaded machine is slow to notice that purging began.
    parts.sync.faults.setRateLimit(5);
    try {
      await world.ackAll(pointerIds);
      await until(
        'purging to start',
        async () => ((await parts.rest.itemKeys(groupId!)).length < 40 ? true : undefined),
        10_000,
      );
      await parts.worker.stop('SIGKILL');
      const left = (await parts.rest.itemKeys(groupId!)).length;
      expect(left).toBeGreaterThan(0);
    } finally {
      parts.sync.faults.setRateLimit(DEFAULT_SYNC_WRITE_LIMIT); // back to Twilio's
    }
    await startWorkerProc(parts);
    // Jobs that were active in the killed worker come back once BullMQ sees their lock expire
    // (CONDUIT_PURGE_LOCK_MS + CONDUIT_PURGE_STALLED_INTERVAL_MS in the harness: about 6 s).
    expect(await until('recovery', () => world.settled(groups), RECOVERY_MS)).toBe(true);
  });

  it('loses no ack when Redis is killed with SIGKILL mid-flow and restarted on its AOF', async () => {
    const { groups, pointerIds } = await flow();
    const base = world.acksSent;
    const acking = world.ackAll(pointerIds);
    await afterAcks(base + 40);
    await parts.redis.proc.stop('SIGKILL');
    await sleep(500);
    await parts.redis.start();
    await acking;
    expect(await until('recovery', () => world.settled(groups), RECOVERY_MS)).toBe(true);
  });

  it('purges everything through Sync 429s, 5xx and slow answers', async () => {
    const { groups, pointerIds } = await flow();
    parts.sync.faults.setRateLimit(3);
    parts.sync.faults.failNextRest(15, 503);
    try {
      const acking = world.ackAll(pointerIds);
      await afterAcks(world.acksSent + 20);
      parts.sync.faults.failNextRest(10, 500);
      parts.sync.faults.delayNextRest(5, 1500);
      await acking;
      await sleep(2000);
      parts.sync.faults.failNextRest(5, 502);
      expect(await until('recovery', () => world.settled(groups), RECOVERY_MS)).toBe(true);
    } finally {
      parts.sync.faults.setRateLimit(DEFAULT_SYNC_WRITE_LIMIT); // back to Twilio's
      parts.sync.faults.failNextRest(0, 500);
      parts.sync.faults.delayNextRest(0, 0);
    }
  });
});
