import { ConduitError } from '@conduit/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, isTransient, RetryQueue } from './retry-queue.js';

const policy = { baseMs: 1_000, maxMs: 60_000 };
const outage = () => new ConduitError('DEPENDENCY_UNAVAILABLE');

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with equal jitter', () => {
    const low = (n: number) => backoffDelay(n, policy, () => 0);
    const high = (n: number) => backoffDelay(n, policy, () => 1);
    expect([1, 2, 3, 4].map(low)).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map(high)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(high(7)).toBe(60_000);
    expect(high(1_000)).toBe(60_000);
    expect(low(1_000)).toBe(30_000);
  });
});

describe('isTransient', () => {
  it('retries outages, never verification failures or refusals', () => {
    for (const code of ['TRANSPORT', 'TIMEOUT', 'DEPENDENCY_UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL'] as const) {
      expect(isTransient(new ConduitError(code)), code).toBe(true);
    }
    for (const code of [
      'INTEGRITY',
      'SENDER_MISMATCH',
      'FORMAT_UNSUPPORTED',
      'NOT_A_RECIPIENT',
      'FORBIDDEN',
    ] as const) {
      expect(isTransient(new ConduitError(code)), code).toBe(false);
    }
    expect(isTransient(new ConduitError('POINTER_NOT_FOUND'))).toBe(false);
    expect(isTransient(new Error('plain'))).toBe(false);
  });
});

describe('RetryQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retries a transient failure with growing delays until it succeeds', () => {
    const runs: number[] = [];
    const queue = new RetryQueue<string>(
      () => runs.push(Date.now()),
      policy,
      () => 1,
    );
    const start = Date.now();
    expect(queue.failed('p1', 'data', outage())).toBe(true);
    vi.advanceTimersByTime(999);
    expect(runs).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(runs).toHaveLength(1);
    queue.failed('p1', 'data', outage()); // the retry failed too: twice as long
    vi.advanceTimersByTime(2_000);
    queue.failed('p1', 'data', outage());
    vi.advanceTimersByTime(4_000);
    expect(runs.map((t) => t - start)).toEqual([1_000, 3_000, 7_000]);
    queue.done('p1');
    expect(queue.size).toBe(0);
    vi.advanceTimersByTime(120_000);
    expect(runs).toHaveLength(3);
  });

  it('does not retry an anomaly, and drops a pointer that turned permanent', () => {
    const run = vi.fn();
    const queue = new RetryQueue<string>(run, policy);
    expect(queue.failed('bad', 'x', new ConduitError('INTEGRITY'))).toBe(false);
    expect(queue.failed('p', 'x', outage())).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(queue.failed('p', 'x', new ConduitError('SENDER_MISMATCH'))).toBe(false);
    vi.advanceTimersByTime(120_000);
    expect(run).toHaveBeenCalledTimes(1);
    expect(queue.size).toBe(0);
  });

  it('a duplicate failure while a retry is scheduled keeps the one timer', () => {
    const run = vi.fn();
    const queue = new RetryQueue<string>(run, policy, () => 1);
    queue.failed('a', 'A', outage());
    queue.failed('a', 'A', outage()); // the same item delivered again (a resync) failed too
    vi.advanceTimersByTime(1_000);
    expect(run.mock.calls).toEqual([['a', 'A']]);
    queue.failed('a', 'A', outage());
    vi.advanceTimersByTime(1_999);
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(2);
  });

  it('stops after close', () => {
    const run = vi.fn();
    const queue = new RetryQueue<string>(run, policy);
    queue.failed('a', 'A', outage());
    queue.close();
    expect(queue.failed('b', 'B', outage())).toBe(false);
    vi.advanceTimersByTime(120_000);
    expect(run).not.toHaveBeenCalled();
  });
});
