/**
 * Publishing under Twilio Sync's per-object write limit (about 20 writes/s per map, 429 / 54009):
 * a refused write is retried with exponential backoff and jitter, never sooner than Sync's
 * Retry-After, for a bounded time; then RATE_LIMITED (429 with Retry-After) tells the caller to
 * come back later. The pointer stays registered as pending meanwhile, so the reconciler's healing
 * pass publishes it even if the caller never does.
 */
import { ConduitError } from '@conduit/shared';
import { SyncRateLimitedError } from '../../adapters/twilio/twilio-sync-admin.js';

export interface RateLimitRetryPolicy {
  /** Total time spent waiting before giving up (well inside the client's request timeout). */
  budgetMs: number;
  /** First backoff; doubles on every refusal. */
  baseMs: number;
  /** Largest single wait. */
  maxMs: number;
}

export const PUBLISH_RATE_LIMIT_RETRY: RateLimitRetryPolicy = { budgetMs: 8_000, baseMs: 250, maxMs: 4_000 };

/** Runs `write`, retrying it while Sync answers 429; RATE_LIMITED once the budget is spent. */
export async function retryRateLimited<T>(
  write: () => Promise<T>,
  policy: RateLimitRetryPolicy = PUBLISH_RATE_LIMIT_RETRY,
  random: () => number = Math.random,
): Promise<T> {
  let waited = 0;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof SyncRateLimitedError)) throw err;
      const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
      // Equal jitter, never below Retry-After: writers refused together do not return together.
      const earliest = Math.max(err.retryAfterMs ?? 0, ceiling / 2);
      const delay = earliest + Math.round((random() * ceiling) / 2);
      if (waited + delay > policy.budgetMs) {
        throw new ConduitError('RATE_LIMITED', 'Twilio Sync is refusing writes to this group for now; retry later.', {
          retryAfterSeconds: Math.max(1, Math.ceil(earliest / 1000)),
        });
      }
      waited += delay;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
