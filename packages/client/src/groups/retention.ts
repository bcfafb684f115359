import { ConduitError, GroupRetentionPolicy } from '@conduit/shared';

/** What each class accepts, for the message of a refused rule. */
const RULES = { files: 'keep, <n>h|d|y or delivered+<n>h|d|y', records: 'keep or <n>h|d|y' } as const;

/**
 * A group retention policy checked with the shared schema before it is sent: a rule the server
 * would refuse is VALIDATION_FAILED here, without a request (docs/lifecycle.md#policies).
 */
export function checkedRetentionPolicy(policy: unknown): GroupRetentionPolicy {
  const parsed = GroupRetentionPolicy.safeParse(policy);
  if (parsed.success) return parsed.data;
  const cls = parsed.error.issues
    .map((i) => i.path[0])
    .find((p): p is keyof typeof RULES => p === 'files' || p === 'records');
  if (cls === undefined) {
    throw new ConduitError(
      'VALIDATION_FAILED',
      'A group retention policy is an object with only `files` and `records`.',
    );
  }
  const given = (policy as Record<string, unknown>)[cls];
  // A string is echoed (cut short: it may be anything), any other value only named by its type.
  const shown = typeof given === 'string' ? JSON.stringify(given.slice(0, 40)) : `(a ${typeof given})`;
  throw new ConduitError('VALIDATION_FAILED', `Invalid ${cls} retention rule ${shown}: expected ${RULES[cls]}.`);
}
