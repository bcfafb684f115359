import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../adapters/redis/keys.js';
import { QuotaStore } from '../adapters/redis/quotas.js';
import { defineScripts } from '../redis/script-loader.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix } from '../testing/fakes.js';
import { QuotaRefunds, refundItem } from './quota-refunds.js';

// Real Redis: refund items as the eraser leaves them, drained into the identities' quotas.
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
let redis: Redis;
let refunds: QuotaRefunds;
let quotas: QuotaStore;
const SHARD = 3;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  refunds = new QuotaRefunds(redis, keys);
  quotas = new QuotaStore(redis, keys);
});

afterAll(async () => {
  await redis.quit();
  await deleteKeys(prefix);
});

const enqueue = (item: string) => redis.rpush(keys.quotaRefunds(SHARD), item);

describe('refundItem', () => {
  it('sums the counted bytes per uploader and skips what counted nothing', () => {
    const item = refundItem('id-1', [
      { uploader: 'bob', bytes: 10 },
      { uploader: 'alice', bytes: 5 },
      { uploader: 'bob', bytes: 7 },
      { uploader: 'carol' },
      { uploader: null, bytes: 99 },
      { uploader: 'dave', bytes: 0 },
    ]);
    expect(JSON.parse(item)).toEqual({
      id: 'id-1',
      refunds: [
        ['alice', 5],
        ['bob', 17],
      ],
    });
    expect(refundItem('id-2', [{ uploader: 'carol' }, { uploader: null, bytes: 4 }])).toBe('');
  });
});

describe('QuotaRefunds', () => {
  it('gives the bytes back once per item, also to concurrent drainers, and empties the outbox', async () => {
    await quotas.reserveBytes('ann', 1_000, 10_000);
    await quotas.reserveBytes('ben', 100, 10_000);
    await enqueue(
      refundItem('r-1', [
        { uploader: 'ann', bytes: 300 },
        { uploader: 'ben', bytes: 40 },
      ]),
    );
    await enqueue(refundItem('r-2', [{ uploader: 'ann', bytes: 200 }]));
    const drained = await Promise.all([refunds.drain(SHARD), refunds.drain(SHARD), refunds.drainAll()]);
    expect(drained.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    expect((await quotas.usage('ann')).bytes).toBe(500);
    expect((await quotas.usage('ben')).bytes).toBe(60);
    expect(await redis.llen(keys.quotaRefunds(SHARD))).toBe(0);
  });

  it('a drainer killed after giving back but before dropping the item: the next one gives nothing twice', async () => {
    await quotas.reserveBytes('cat', 1_000, 10_000);
    const item = refundItem('r-3', [{ uploader: 'cat', bytes: 250 }]);
    await enqueue(item);
    // What the killed drainer did: the refund script ran, the LREM never did.
    const scripts = defineScripts(redis, 'quotaRefund');
    expect(await scripts.quotaRefund([keys.quotaUsage('cat'), keys.quotaRefunded('cat')], ['r-3', 250, 86_400])).toBe(
      1,
    );
    expect((await quotas.usage('cat')).bytes).toBe(750);
    expect(await refunds.drain(SHARD)).toBe(1);
    expect((await quotas.usage('cat')).bytes).toBe(750);
    expect(await redis.ttl(keys.quotaRefunded('cat'))).toBeGreaterThan(0); // remembered ids expire
  });

  it('never goes below zero, and leaves a deleted identity without any quota key', async () => {
    await quotas.reserveBytes('dan', 100, 10_000);
    await enqueue(
      refundItem('r-4', [
        { uploader: 'dan', bytes: 400 },
        { uploader: 'gone', bytes: 50 },
      ]),
    );
    await refunds.drain(SHARD);
    expect((await quotas.usage('dan')).bytes).toBe(0);
    expect(await redis.exists(keys.quotaUsage('gone'), keys.quotaRefunded('gone'))).toBe(0);
  });

  it('drops an item it cannot read instead of retrying it forever', async () => {
    await enqueue('not json');
    await enqueue(JSON.stringify({ id: 'r-5', refunds: [['eve', 'many']] }));
    expect(await refunds.drain(SHARD)).toBe(2);
    expect(await redis.llen(keys.quotaRefunds(SHARD))).toBe(0);
  });
});
