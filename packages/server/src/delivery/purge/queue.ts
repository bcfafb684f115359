import type { JobsOptions } from 'bullmq';

export const PURGE_QUEUE = 'conduit-purge';
export const PURGE_JOB = 'purge';
export const PURGE_BACKOFF = 'jittered-exponential';

export interface PurgeJobData {
  pointerId: string;
  groupId: string;
}

export interface PurgeTuning {
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_PURGE_TUNING: PurgeTuning = { attempts: 10, backoffBaseMs: 1000, backoffMaxMs: 5 * 60_000 };

/** One worker process's share of the queue, and how fast jobs of a dead worker come back. */
export interface PurgeWorkerOptions {
  /**
   * Jobs in flight at once. A purge mostly waits on Sync and Redis, so one process needs many in
   * flight to keep its CPU busy (bench: 8 -> ~1,100/s, 32 -> ~2,600/s on 2 vCPUs); the token
   * bucket, not this, keeps each Sync Map under its write rate.
   */
  concurrency: number;
  /** A job's lock lives this long without renewal (renewed every half of it while the job runs). */
  lockDurationMs: number;
  /** How often each worker requeues jobs whose lock expired: a killed worker's jobs return after
   * at most lockDurationMs + stalledIntervalMs. */
  stalledIntervalMs: number;
}

// Lock and stall check are BullMQ's defaults: short enough to recover a dead worker's purges
// within a minute, long enough that a busy event loop never loses a lock it still holds.
export const DEFAULT_PURGE_WORKER_OPTIONS: PurgeWorkerOptions = {
  concurrency: 32,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
};

/** Job id = pointer id: BullMQ ignores a second add of the same id, so re-driving is harmless. */
export function purgeJobOptions(pointerId: string, tuning: PurgeTuning): JobsOptions {
  return {
    jobId: pointerId,
    attempts: tuning.attempts,
    backoff: { type: PURGE_BACKOFF },
    // Keep finished jobs for a while (dedupe window and forensics), then let Redis shed them.
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries after
 * a Twilio outage spread out instead of arriving in one burst.
 */
export function jitteredBackoff(tuning: PurgeTuning, random: () => number = Math.random) {
  return (attemptsMade: number): number => {
    const exp = Math.min(tuning.backoffMaxMs, tuning.backoffBaseMs * 2 ** Math.max(0, attemptsMade - 1));
    return Math.round(exp / 2 + random() * (exp / 2));
  };
}
