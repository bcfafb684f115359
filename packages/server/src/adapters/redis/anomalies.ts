import type { Redis } from 'ioredis';
import type { AnomalyKind, Endpoint } from '@conduit/shared';
import { endpointKey, parseEndpointKey } from '@conduit/shared';
import type { Keys } from './keys.js';
import { RecordAnomalyReply } from '../../redis/script-replies.js';
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
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'recordAnomaly');
  }

  async record(
    pointerId: string,
    entry: AnomalyEntry,
    retentionSeconds: number,
  ): Promise<'recorded' | 'duplicate' | 'over-budget'> {
    const who = endpointKey(entry);
    // One report per pointer per endpoint, within the reporter's budget (recordAnomaly-2.lua).
    const code = await this.scripts.recordAnomaly(
      [this.keys.pointerAnomalies(pointerId), this.keys.anomalyBudget(who)],
      [
        who,
        JSON.stringify({ kind: entry.kind, code: entry.code, at: entry.at }),
        ANOMALY_BUDGET,
        ANOMALY_WINDOW_SECONDS,
        retentionSeconds,
      ],
    );
    if (code === RecordAnomalyReply.Recorded) return 'recorded';
    return code === RecordAnomalyReply.Duplicate ? 'duplicate' : 'over-budget';
  }

  /** Oldest first; reports made at the same time by endpoint (HGETALL's order is the hash table's). */
  async list(pointerId: string): Promise<AnomalyEntry[]> {
    const all = await this.redis.hgetall(this.keys.pointerAnomalies(pointerId));
    return Object.entries(all)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, json]) => ({ ...parseEndpointKey(key), ...(JSON.parse(json) as Omit<AnomalyEntry, keyof Endpoint>) }))
      .sort((a, b) => a.at.localeCompare(b.at));
  }
}
