import type { RedisClient } from './connection.js';
import type { AnomalyKind, Endpoint } from '@conduit/shared';
import { endpointKey, parseEndpointKey } from '@conduit/shared';
import type { Keys } from './keys.js';
import { defineScripts } from '../../redis/script-loader.js';

/** Anomaly reports one endpoint may file per window: a member must not be able to flood the audit log. */
export const ANOMALY_BUDGET = 100;
export const ANOMALY_WINDOW_SECONDS = 3600;

export interface AnomalyEntry extends Endpoint {
  kind: AnomalyKind;
  code: string;
  at: string;
}

/** What receiving endpoints reported about pointers (docs/delivery.md), kept as long as the ledger entry. */
export class AnomalyRepository {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'countInWindow');
  }

  async record(
    groupId: string,
    pointerId: string,
    entry: AnomalyEntry,
    retentionSeconds: number,
  ): Promise<'recorded' | 'duplicate' | 'over-budget'> {
    const who = endpointKey(entry);
    const reports = this.keys.pointerAnomalies(groupId, pointerId);
    // One report per pointer per endpoint, within the reporter's budget. The budget counter is in
    // the reporter's slot, the reports in the pointer's: a racing duplicate may spend one unit more.
    if ((await this.redis.hexists(reports, who)) === 1) return 'duplicate';
    const used = await this.scripts.countInWindow([this.keys.anomalyBudget(who)], [ANOMALY_WINDOW_SECONDS]);
    if (used > ANOMALY_BUDGET) return 'over-budget';
    const json = JSON.stringify({ kind: entry.kind, code: entry.code, at: entry.at });
    const results = await this.redis.multi().hsetnx(reports, who, json).expire(reports, retentionSeconds).exec();
    const [err, added] = results?.[0] ?? [new Error('anomaly report: no reply'), null];
    if (err) throw err;
    return added === 1 ? 'recorded' : 'duplicate';
  }

  /** Oldest first; reports made at the same time by endpoint (HGETALL's order is the hash table's). */
  async list(groupId: string, pointerId: string): Promise<AnomalyEntry[]> {
    const all = await this.redis.hgetall(this.keys.pointerAnomalies(groupId, pointerId));
    return Object.entries(all)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, json]) => ({ ...parseEndpointKey(key), ...(JSON.parse(json) as Omit<AnomalyEntry, keyof Endpoint>) }))
      .sort((a, b) => a.at.localeCompare(b.at));
  }
}
