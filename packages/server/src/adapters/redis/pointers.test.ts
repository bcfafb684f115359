import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix } from '../../testing/fakes.js';
import { TEST_BINDING, TEST_RECEIPT } from '../../testing/ledger.js';
import { deletionReceipt } from '../../audit/entries.js';
import { AnomalyRepository, ANOMALY_BUDGET } from './anomalies.js';
import { createKeys, shardOf } from './keys.js';
import { PointerLedger } from './pointers.js';

const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
let redis: Redis;
let ledger: PointerLedger;

const hex = () => randomBytes(16).toString('hex');
/** The group of the pointers `registered` makes, and the shard of their ledger indexes. */
const GROUP = hex();
const SHARD = shardOf(GROUP);
const alice = { identity: 'alice', deviceId: 'alice-dev-1' };
const bob1 = { identity: 'bob', deviceId: 'bob-dev-01' };
const bob2 = { identity: 'bob', deviceId: 'bob-dev-02' };
const carol = { identity: 'carol', deviceId: 'carol-dev-1' };

async function registered(expected = [bob1, bob2]): Promise<string> {
  const pointerId = hex();
  const created = await ledger.register({
    pointerId,
    groupId: GROUP,
    sender: alice,
    expected,
    createdAt: new Date(),
    retentionSeconds: 3600,
    binding: TEST_BINDING,
    epoch: '0',
  });
  expect(created).toBe('created');
  return pointerId;
}

const outbox = () => redis.lrange(keys.outbox(SHARD), 0, -1);

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
  ledger = new PointerLedger(redis, keys);
});

afterAll(async () => {
  await deleteKeys(prefix);
  await redis.quit();
});

describe('PointerLedger ack script', () => {
  it('refuses an unknown pointer without side effects', async () => {
    const pointerId = hex();
    expect(await ledger.acknowledge(pointerId, bob1, TEST_RECEIPT)).toEqual({ ok: false, reason: 'POINTER_NOT_FOUND' });
    expect(await redis.exists(keys.pointerAcked(GROUP, pointerId))).toBe(0);
  });

  it('refuses endpoints that are not recipients, the sender included', async () => {
    const pointerId = await registered();
    expect(await ledger.acknowledge(pointerId, carol, TEST_RECEIPT)).toEqual({ ok: false, reason: 'NOT_A_RECIPIENT' });
    expect(await ledger.acknowledge(pointerId, alice, TEST_RECEIPT)).toEqual({ ok: false, reason: 'NOT_A_RECIPIENT' });
    expect((await ledger.get(pointerId))?.acknowledged).toEqual([]);
  });

  it('is idempotent and counts down per distinct endpoint', async () => {
    const pointerId = await registered();
    expect(await ledger.acknowledge(pointerId, bob1, TEST_RECEIPT)).toEqual({ ok: true, remaining: 1, firstAck: true });
    expect(await ledger.acknowledge(pointerId, bob1, TEST_RECEIPT)).toEqual({
      ok: true,
      remaining: 1,
      firstAck: false,
    });
    const status = await ledger.get(pointerId);
    expect(status?.state).toBe('pending');
    expect(status?.acknowledged).toEqual([bob1]);
    expect(await outbox()).not.toContain(pointerId);
  });

  it('the last ack moves the pointer to purging and enqueues it exactly once', async () => {
    const pointerId = await registered();
    await ledger.acknowledge(pointerId, bob1, TEST_RECEIPT);
    // Concurrent and repeated final acks: the transition must still happen once.
    const results = await Promise.all([
      ledger.acknowledge(pointerId, bob2, TEST_RECEIPT),
      ledger.acknowledge(pointerId, bob2, TEST_RECEIPT),
      ledger.acknowledge(pointerId, bob1, TEST_RECEIPT),
    ]);
    expect(results.map((r) => r.ok && r.remaining)).toEqual([0, 0, 0]);
    // Exactly one of the two concurrent bob2 acks recorded it.
    expect(results.filter((r) => r.ok && r.firstAck)).toHaveLength(1);
    expect((await outbox()).filter((id) => id === pointerId)).toHaveLength(1);
    const status = await ledger.get(pointerId);
    expect(status?.state).toBe('purging');
    expect(status?.acknowledged).toEqual([bob1, bob2]);
  });

  it('refuses a second registration of the same pointer id', async () => {
    const pointerId = await registered();
    const again = await ledger.register({
      pointerId,
      groupId: hex(),
      sender: carol,
      expected: [alice],
      createdAt: new Date(),
      retentionSeconds: 3600,
      binding: TEST_BINDING,
      epoch: '0',
    });
    expect(again).toBe('exists');
    expect((await ledger.get(pointerId))?.sender).toEqual(alice);
  });

  it('markPurged is idempotent and keeps the first purgedAt', async () => {
    const pointerId = await registered([bob1]);
    await ledger.acknowledge(pointerId, bob1, TEST_RECEIPT);
    const first = new Date('2030-01-01T00:00:00.000Z');
    const receipt = '{"at":"2030-01-01T00:00:00.000Z","type":"deletion-receipt"}';
    expect(await ledger.markPurged(pointerId, GROUP, first, receipt)).toMatchObject({ ok: true });
    expect(await ledger.markPurged(pointerId, GROUP, new Date('2031-01-01T00:00:00.000Z'), receipt)).toEqual({
      ok: false,
      reason: 'already',
    });
    const status = await ledger.get(pointerId);
    expect(status?.state).toBe('purged');
    expect(status?.purgedAt).toBe(first.toISOString());
    // One receipt, committed with the transition (pending until a sealer chains it), however often
    // the purge is repeated.
    const pending = await redis.lrange(keys.auditPending(SHARD), 0, -1);
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatch(/^[0-9a-f-]{36} \{"at":"2030-01-01T00:00:00.000Z","type":"deletion-receipt"\}$/);
    expect(await ledger.markPurged(hex(), GROUP, first, receipt)).toEqual({ ok: false, reason: 'missing' });
  });

  it('gives every ledger key the retention TTL', async () => {
    const pointerId = await registered();
    await ledger.acknowledge(pointerId, bob1, TEST_RECEIPT);
    for (const key of [
      keys.pointer(GROUP, pointerId),
      keys.pointerExpected(GROUP, pointerId),
      keys.pointerAcked(GROUP, pointerId),
    ]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(3500);
      expect(ttl).toBeLessThanOrEqual(3600);
    }
  });
});

describe('PointerLedger binding and receipts', () => {
  it('binds group, sender endpoint, object and envelope digest at registration', async () => {
    const pointerId = await registered();
    expect(await ledger.get(pointerId)).toMatchObject({
      sender: alice,
      objectId: TEST_BINDING.objectId,
      envelopeSha256: TEST_BINDING.envelopeSha256,
      receipts: [],
    });
  });

  it('refuses an ack naming another object or envelope, changing nothing', async () => {
    const pointerId = await registered();
    const before = await ledger.get(pointerId);
    for (const claim of [
      { ...TEST_RECEIPT, objectId: hex() },
      { ...TEST_RECEIPT, objectId: null },
      { ...TEST_RECEIPT, envelopeSha256: 'ee'.repeat(32) },
    ]) {
      expect(await ledger.acknowledge(pointerId, bob1, claim)).toEqual({ ok: false, reason: 'POINTER_MISMATCH' });
    }
    expect(await ledger.get(pointerId)).toEqual(before);
    expect(await redis.exists(keys.pointerReceipts(GROUP, pointerId))).toBe(0);
  });

  it("keeps each endpoint's first signed receipt with its time; a repeat does not replace it", async () => {
    const pointerId = await registered();
    const at = new Date('2026-01-02T03:04:05.000Z');
    await ledger.acknowledge(pointerId, bob1, { ...TEST_RECEIPT, signature: 'Zmlyc3Q=' }, at);
    await ledger.acknowledge(pointerId, bob1, { ...TEST_RECEIPT, signature: 'c2Vjb25k' });
    expect((await ledger.get(pointerId))?.receipts).toEqual([{ ...bob1, signature: 'Zmlyc3Q=', at: at.toISOString() }]);
    expect(await redis.ttl(keys.pointerReceipts(GROUP, pointerId))).toBeGreaterThan(0); // expires with the pointer
  });

  it('binds a record tombstone (no object) and accepts only a null object in its acks', async () => {
    const pointerId = hex();
    const binding = { objectId: null, envelopeSha256: TEST_BINDING.envelopeSha256 };
    const input = { pointerId, groupId: hex(), sender: alice, expected: [bob1], createdAt: new Date() };
    expect(await ledger.register({ ...input, retentionSeconds: 60, epoch: '0', binding })).toBe('created');
    expect((await ledger.get(pointerId))?.objectId).toBeNull();
    expect(await ledger.acknowledge(pointerId, bob1, TEST_RECEIPT)).toMatchObject({ reason: 'POINTER_MISMATCH' });
    expect(await ledger.acknowledge(pointerId, bob1, { ...TEST_RECEIPT, objectId: null })).toMatchObject({ ok: true });
  });
});

describe('PointerLedger receiptInputs', () => {
  it('reads what the deletion receipt names as get does, and null for an unknown pointer', async () => {
    const pointerId = await registered([bob1, bob2, carol]);
    await ledger.acknowledge(pointerId, bob1, TEST_RECEIPT);
    await ledger.dropEndpoints(pointerId, GROUP, [carol], 'member-removed');
    await ledger.acknowledge(pointerId, bob2, TEST_RECEIPT);
    const record = await ledger.get(pointerId);
    const inputs = await ledger.receiptInputs(pointerId, GROUP);
    const at = new Date();
    expect(inputs).toMatchObject({ pointerId, groupId: GROUP, state: 'purging', reason: 'acknowledged' });
    expect(deletionReceipt(inputs!, at, 'removed')).toBe(deletionReceipt(record!, at, 'removed'));
    expect(await ledger.receiptInputs(hex(), GROUP)).toBeNull();
  });
});

describe('AnomalyRepository', () => {
  it('keeps one report per pointer per endpoint, and a budget per endpoint', async () => {
    const anomalies = new AnomalyRepository(redis, keys);
    const pointerId = hex();
    const at = new Date().toISOString();
    const report = { ...bob1, kind: 'vanished' as const, code: 'POINTER_NOT_FOUND', at };
    expect(await anomalies.record(GROUP, pointerId, report, 60)).toBe('recorded');
    expect(await anomalies.record(GROUP, pointerId, { ...report, kind: 'changed' }, 60)).toBe('duplicate');
    expect(await anomalies.record(GROUP, pointerId, { ...bob2, kind: 'unverifiable', code: 'INTEGRITY', at }, 60)).toBe(
      'recorded',
    );
    expect(await anomalies.list(GROUP, pointerId)).toEqual([
      report,
      { ...bob2, kind: 'unverifiable', code: 'INTEGRITY', at },
    ]);

    const flooder = { identity: 'mallory', deviceId: 'mallory-dev-1', kind: 'unknown' as const, code: 'X', at };
    const outcomes = [];
    for (let i = 0; i <= ANOMALY_BUDGET; i += 1) outcomes.push(await anomalies.record(GROUP, hex(), flooder, 60));
    expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(ANOMALY_BUDGET);
    expect(outcomes.at(-1)).toBe('over-budget');
  });
});
