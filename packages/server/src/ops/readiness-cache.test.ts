import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { ReadinessCache } from './readiness-cache.js';

// The cache in front of /readyz: plain functions stand in for dependencies, a settable clock for time.
describe('ReadinessCache', () => {
  function setup() {
    const calls = { redis: 0, s3: 0 };
    let s3Up = true;
    let clock = 1_000;
    const cache = new ReadinessCache(
      {
        redis: async () => void calls.redis++,
        s3: async () => {
          calls.s3++;
          if (!s3Up) throw new Error('down');
        },
      },
      createLogger('silent'),
      2_000,
      () => clock,
    );
    return {
      cache,
      calls,
      advance: (ms: number) => (clock += ms),
      setS3: (up: boolean) => (s3Up = up),
    };
  }

  it('concurrent requests share one probe; a fresh report is served without probing', async () => {
    const { cache, calls, advance } = setup();
    const reports = await Promise.all(Array.from({ length: 20 }, () => cache.current()));
    expect(new Set(reports).size).toBe(1);
    expect(reports[0]).toEqual({ ready: true, checks: { redis: 'ok', s3: 'ok' } });
    expect(calls).toEqual({ redis: 1, s3: 1 });
    advance(1_999);
    await cache.current();
    expect(calls).toEqual({ redis: 1, s3: 1 });
  });

  it('probes again once the report is stale, so an outage and a recovery show within the max age', async () => {
    const { cache, calls, advance, setS3 } = setup();
    await cache.current();
    setS3(false);
    advance(2_000);
    expect(await cache.current()).toEqual({ ready: false, checks: { redis: 'ok', s3: 'fail' } });
    expect(calls).toEqual({ redis: 2, s3: 2 });
    setS3(true);
    expect((await cache.current()).ready).toBe(false); // still the cached failure
    advance(2_000);
    expect((await cache.current()).ready).toBe(true);
    expect(calls).toEqual({ redis: 3, s3: 3 });
  });
});
