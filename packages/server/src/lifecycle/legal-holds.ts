import { ConduitError, type AuditEntry } from '@conduit/shared';
import type { AuditLog } from '../audit/audit-log.js';
import type { RedisClient } from '../adapters/redis/connection.js';
import type { Keys } from '../adapters/redis/keys.js';

export type HoldKind = 'group' | 'identity';

export interface LegalHold {
  kind: HoldKind;
  /** The group id or the identity held. */
  id: string;
  /** The operator's name for the hold (a case or matter number). */
  name: string;
  reason: string;
  /** Who placed it (the operator command records its `--by`). */
  by: string;
  placedAt: string;
}

/** What a deletion would touch: any hold on one of these refuses it. */
export interface HoldSubjects {
  groups?: readonly string[];
  identities?: readonly string[];
}

const FIELDS = ['name', 'reason', 'by', 'placedAt'] as const;

/**
 * Legal holds (docs/lifecycle.md#legal-hold): an operator places one on a group or an identity;
 * while it is in place, retention skips what it covers and every requested erasure is refused with
 * LEGAL_HOLD naming it. Placing, releasing and each refusal are audit entries. One hold per subject.
 */
export class LegalHolds {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly audit: Pick<AuditLog, 'append'>,
  ) {}

  /** Places a hold; a subject already held keeps its hold (`placed: false`), nothing is audited. */
  async place(
    kind: HoldKind,
    id: string,
    hold: { name: string; reason: string; by: string },
    now = new Date(),
  ): Promise<{ hold: LegalHold; placed: boolean }> {
    const key = this.keys.legalHold(kind, id);
    const placedAt = now.toISOString();
    // The name field claims the subject: a second place() finds it taken.
    if ((await this.redis.hsetnx(key, 'name', hold.name)) !== 1) {
      const existing = await this.get(kind, id);
      if (existing) return { hold: existing, placed: false };
    }
    await this.redis
      .multi()
      .hset(key, { name: hold.name, reason: hold.reason, by: hold.by, placedAt })
      .sadd(this.keys.legalHolds(), `${kind}:${id}`)
      .exec();
    const placed: LegalHold = { kind, id, ...hold, placedAt };
    await this.audit.append({
      type: 'legal-hold-placed',
      at: placedAt,
      hold: holdRef(placed),
      reason: hold.reason,
      by: hold.by,
    });
    return { hold: placed, placed: true };
  }

  /** Releases a hold; false when there was none. */
  async release(kind: HoldKind, id: string, by: string, reason: string, now = new Date()): Promise<boolean> {
    const existing = await this.get(kind, id);
    if (!existing) return false;
    const results = (await this.redis
      .multi()
      .del(this.keys.legalHold(kind, id))
      .srem(this.keys.legalHolds(), `${kind}:${id}`)
      .exec()) as [Error | null, number][];
    if (results[0]?.[1] !== 1) return false; // released by someone else meanwhile
    await this.audit.append({
      type: 'legal-hold-released',
      at: now.toISOString(),
      hold: holdRef(existing),
      reason,
      by,
    });
    return true;
  }

  async get(kind: HoldKind, id: string): Promise<LegalHold | null> {
    const values = await this.redis.hmget(this.keys.legalHold(kind, id), ...FIELDS);
    if (values.some((v) => v === null)) return null;
    const [name, reason, by, placedAt] = values as string[];
    return { kind, id, name: name!, reason: reason!, by: by!, placedAt: placedAt! };
  }

  /** Every hold in place, by subject. */
  async list(): Promise<LegalHold[]> {
    const members = await this.redis.smembers(this.keys.legalHolds());
    const holds = await Promise.all(
      members.sort().map((m) => {
        const colon = m.indexOf(':');
        return this.get(m.slice(0, colon) as HoldKind, m.slice(colon + 1));
      }),
    );
    return holds.filter((h): h is LegalHold => h !== null);
  }

  /** The first hold covering any of the subjects (groups first), or null. */
  async covering(subjects: HoldSubjects): Promise<LegalHold | null> {
    const wanted: [HoldKind, string][] = [
      ...(subjects.groups ?? []).map((g): [HoldKind, string] => ['group', g]),
      ...(subjects.identities ?? []).map((i): [HoldKind, string] => ['identity', i]),
    ];
    if (wanted.length === 0) return null;
    const flags = await this.redis.smismember(this.keys.legalHolds(), ...wanted.map(([kind, id]) => `${kind}:${id}`));
    const index = flags.indexOf(1);
    return index < 0 ? null : this.get(...wanted[index]!);
  }

  /**
   * Refuses a requested erasure that a hold covers: records the refusal in the audit chain, then
   * throws LEGAL_HOLD (409) whose details name the hold.
   */
  async assertNone(subjects: HoldSubjects, attempt: { action: string; by: string }, now = new Date()): Promise<void> {
    const hold = await this.covering(subjects);
    if (!hold) return;
    await this.audit.append({
      type: 'erasure-refused',
      at: now.toISOString(),
      action: attempt.action,
      by: attempt.by,
      hold: holdRef(hold),
    });
    throw legalHoldError(hold);
  }
}

/** How an audit entry names a hold. */
export const holdRef = (hold: LegalHold): AuditEntry[string] => ({ kind: hold.kind, id: hold.id, name: hold.name });

export function legalHoldError(hold: LegalHold): ConduitError {
  return new ConduitError(
    'LEGAL_HOLD',
    `The ${hold.kind} ${hold.id} is under legal hold "${hold.name}" (since ${hold.placedAt}).`,
    { hold: { kind: hold.kind, id: hold.id, name: hold.name, placedAt: hold.placedAt } },
  );
}
