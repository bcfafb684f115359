import { ConduitError } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { withRetry } from './retry.js';

const rateLimited = (retryAfterSeconds: number) => new ConduitError('RATE_LIMITED', undefined, { retryAfterSeconds });
const isRateLimited = (err: unknown): err is ConduitError => err instanceof ConduitError && err.code === 'RATE_LIMITED';

describe('withRetry', () => {
  it("waits at least the server's Retry-After before the next attempt", async () => {
    const calls: number[] = [];
    const result = await withRetry(
      async () => {
        calls.push(Date.now());
        if (calls.length === 1) throw rateLimited(0.2);
        return 'ok';
      },
      { baseDelayMs: 1, retryable: isRateLimited },
    );
    expect(result).toBe('ok');
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(195);
  });

  it('surfaces the typed error once its attempts are spent', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls += 1;
        throw rateLimited(0.01);
      },
      { attempts: 3, baseDelayMs: 1, retryable: isRateLimited },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RATE_LIMITED' });
    expect(calls).toBe(3);
  });
});
