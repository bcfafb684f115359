import { z } from 'zod';

/**
 * Retention rules (docs/lifecycle.md): how long a class of data (files, records, audit entries) is
 * kept before the worker's retention job deletes it.
 *   keep                 never deleted by retention (erasure on request still applies)
 *   <n><unit>            deleted once older than n units (h hours, d days, y years of 366 days, so
 *                        "6y" is never shorter than six calendar years)
 *   delivered+<n><unit>  files only: deleted n units after the pointer left 'pending' (every
 *                        recipient received it, it expired undelivered, or it was withdrawn)
 */
export type RetentionRule =
  { kind: 'keep' } | { kind: 'age'; seconds: number } | { kind: 'delivered'; graceSeconds: number };

const UNIT_SECONDS = { h: 3600, d: 86_400, y: 366 * 86_400 } as const;
/** 1000 years: far beyond any policy, small enough that milliseconds stay exact integers. */
const MAX_SECONDS = 1000 * UNIT_SECONDS.y;
const DURATION = /^([0-9]{1,6})([hdy])$/;
const RULE = /^(?:keep|delivered\+[0-9]{1,6}[hdy]|[0-9]{1,6}[hdy])$/;

function durationSeconds(text: string): number | null {
  const m = DURATION.exec(text);
  if (!m) return null;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
  return seconds >= 1 && seconds <= MAX_SECONDS ? seconds : null;
}

/** The rule a text names, or null. `delivered+...` only where `allowDelivered` (files). */
export function parseRetentionRule(text: string, allowDelivered: boolean): RetentionRule | null {
  if (text === 'keep') return { kind: 'keep' };
  if (text.startsWith('delivered+')) {
    if (!allowDelivered) return null;
    const graceSeconds = durationSeconds(text.slice('delivered+'.length));
    return graceSeconds === null ? null : { kind: 'delivered', graceSeconds };
  }
  const seconds = durationSeconds(text);
  return seconds === null ? null : { kind: 'age', seconds };
}

/** The canonical text of a rule (largest whole unit), as stored and shown. */
export function formatRetentionRule(rule: RetentionRule): string {
  if (rule.kind === 'keep') return 'keep';
  const seconds = rule.kind === 'age' ? rule.seconds : rule.graceSeconds;
  const unit = (['y', 'd', 'h'] as const).find((u) => seconds % UNIT_SECONDS[u] === 0) ?? 'h';
  const text = `${Math.floor(seconds / UNIT_SECONDS[unit])}${unit}`;
  return rule.kind === 'age' ? text : `delivered+${text}`;
}

/** A rule's text on the wire (files accept `delivered+...`, records and audit do not). */
export const FilesRetentionText = z
  .string()
  .max(32)
  .regex(RULE)
  .refine((t) => parseRetentionRule(t, true) !== null, 'keep, <n>h|d|y or delivered+<n>h|d|y');
export const RecordsRetentionText = z
  .string()
  .max(32)
  .regex(RULE)
  .refine((t) => parseRetentionRule(t, false) !== null, 'keep or <n>h|d|y');

/** A group's own policy (PUT /v1/groups/:groupId/retention); an absent class follows the deployment. */
export const GroupRetentionPolicy = z.strictObject({
  files: FilesRetentionText.optional(),
  records: RecordsRetentionText.optional(),
});
export type GroupRetentionPolicy = z.infer<typeof GroupRetentionPolicy>;
