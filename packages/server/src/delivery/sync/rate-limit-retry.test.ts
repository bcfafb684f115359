import { ConduitError } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { SyncRateLimitedError, SyncUnavailableError } from '../../adapters/twilio/twilio-sync-admin.js';
import { retryRateLimited } from './rate-limit-retry.js';

const policy = { budgetMs: 400, baseMs: 20, maxMs: 80 };

/** A write refused `refusals` times (429 with `retryAfterMs`), then accepted. */
function refusing(refusals: number, retryAfterMs?: number) {
  const calls: number[] = [];
  const write = async () => {
    calls.push(Date.now());
    if (calls.length <= refusals) throw new SyncRateLimitedError(retryAfterMs);
    return 'written';
  };
  return { calls, write };
}

describe('retryRateLimited', () => {
  it('retries 429s with backoff until the write is accepted', async () => {
    const { calls, write } = refusing(3);
    expect(await retryRateLimited(write, policy)).toBe('written');
    expect(calls).toHaveLength(4);
  });

  it('never retries sooner than Retry-After', async () => {
    const { calls, write } = refusing(1, 150);
    expect(await retryRateLimited(write, policy, () => 0)).toBe('written');
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(145);
  });

  it('gives up within its budget with RATE_LIMITED and a Retry-After', async () => {
    const { calls, write } = refusing(Infinity, 1_000);
    const started = Date.now();
    const err = await retryRateLimited(write, policy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConduitError);
    expect(err).toMatchObject({ code: 'RATE_LIMITED', status: 429, details: { retryAfterSeconds: 1 } });
    // Retry-After (1 s) exceeds the budget: no wait at all.
    expect(calls).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(policy.budgetMs);
  });

  it('passes any other failure through at once', async () => {
    let calls = 0;
    const err = await retryRateLimited(async () => {
      calls += 1;
      throw new SyncUnavailableError('HTTP 503');
    }, policy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncUnavailableError);
    expect(calls).toBe(1);
  });
});
