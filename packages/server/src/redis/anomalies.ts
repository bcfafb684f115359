import type { Redis } from 'ioredis';
import type { AnomalyKind, Endpoint } from '@conduit/shared';
import { endpointKey, parseEndpointKey } from '@conduit/shared';
import type { Keys } from './keys.js';
import { defineScript } from './script.js';

/** Anomaly reports one endpoint may file per window: a member must not be able to flood the audit log. */
export const ANOMALY_BUDGET = 100;
export const ANOMALY_WINDOW_SECONDS = 3600;

// KEYS: the pointer's anomalies hash, the reporter's budget counter. ARGV: endpoint key, entry
// JSON, budget, window seconds, retention seconds. Returns 1 recorded, 0 already reported by this
// endpoint (one per pointer per endpoint), -1 over budget.
const RECORD = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local used = redis.call('INCR', KEYS[2])
if used == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
if used > tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
`;

export interface AnomalyEntry extends Endpoint {
  kind: AnomalyKind;
  code: string;
  at: string;
}

/** What receiving endpoints reported about pointers (docs/delivery.md), kept as long as the ledger entry. */
export class AnomalyRepository {
  private readonly recordScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.recordScript = defineScript<number>(redis, 'conduitRecordAnomaly', 2, RECORD);
  }

  async record(
    pointerId: string,
    entry: AnomalyEntry,
    retentionSeconds: number,
  ): Promise<'recorded' | 'duplicate' | 'over-budget'> {
    const who = endpointKey(entry);
    const code = await this.recordScript(
      [this.keys.pointerAnomalies(pointerId), this.keys.anomalyBudget(who)],
      [
        who,
        JSON.stringify({ kind: entry.kind, code: entry.code, at: entry.at }),
        ANOMALY_BUDGET,
        ANOMALY_WINDOW_SECONDS,
        retentionSeconds,
      ],
    );
    return code === 1 ? 'recorded' : code === 0 ? 'duplicate' : 'over-budget';
  }

  async list(pointerId: string): Promise<AnomalyEntry[]> {
    const all = await this.redis.hgetall(this.keys.pointerAnomalies(pointerId));
    return Object.entries(all)
      .map(([key, json]) => ({ ...parseEndpointKey(key), ...(JSON.parse(json) as Omit<AnomalyEntry, keyof Endpoint>) }))
      .sort((a, b) => a.at.localeCompare(b.at));
  }
}
