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
