import { ConduitError } from '@conduit/shared';

/** The production checks, by stable name (docs/configuration.md#production-mode lists them). */
export type CheckName = 'sign-up' | 'tls' | 'sync-acl' | 'virgil-key' | 'redis-eviction' | 'redis-persistence';

/** One failed check: what is wrong and which settings change it. Never a secret's value. */
export interface Refusal {
  check: CheckName;
  /** Environment variables, or the dependency's own setting, to change. */
  settings: string[];
  reason: string;
}

/** Network checks give up after this: a dependency that does not answer is a refusal, not a hang. */
export const CHECK_TIMEOUT_MS = 5_000;

/** PRODUCTION_UNSAFE listing every refusal, so one restart shows all there is to fix. */
export function productionUnsafe(refusals: readonly Refusal[]): ConduitError {
  const names = refusals.map((r) => r.check).join(', ');
  return new ConduitError(
    'PRODUCTION_UNSAFE',
    `Production mode refuses to start: ${refusals.length} check(s) failed (${names}).`,
    { refusals },
  );
}

/** Rejects with `what` named if `work` has not settled within `ms`. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
