import {
  FilesRetentionText,
  formatRetentionRule,
  GroupRetentionPolicy,
  parseRetentionRule,
  RecordsRetentionText,
  type AuditEntry,
  type GroupRetentionView,
  type RetentionRule,
  type RetentionSource,
} from '@conduit/shared';
import { encodeEntry, type AuditLog } from '../audit/audit-log.js';
import { newEntryId, pendingItem } from '../audit/pending.js';
import type { RedisClient } from '../adapters/redis/connection.js';
import { shardOf, type Keys } from '../adapters/redis/keys.js';
import { DEFAULT_RETENTION, type ServerConfig } from '../config.js';

/** The classes a group may set its own rule for (audit retention is the deployment's alone). */
export type GroupRetentionClass = 'files' | 'records';

/** The deployment's rules (config.retention over DEFAULT_RETENTION). */
export type DeploymentRetention = Readonly<Record<'files' | 'records' | 'audit', RetentionRule>>;

export const deploymentRetentionOf = (config: Pick<ServerConfig, 'retention'>): DeploymentRetention => ({
  files: config.retention?.files ?? DEFAULT_RETENTION.files,
  records: config.retention?.records ?? DEFAULT_RETENTION.records,
  audit: config.retention?.audit ?? DEFAULT_RETENTION.audit,
});

/** The rule that applies to one class of a group's data, and where it comes from. */
export interface EffectiveRule {
  rule: RetentionRule;
  source: RetentionSource;
}

/**
 * Per-group retention rules (docs/lifecycle.md#policies): the owner's own rule for files and for
 * records, each overriding the deployment's; an absent class follows the deployment. Stored as
 * canonical rule texts in keys.groupRetention(groupId); every change is audited.
 */
export class GroupRetention {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly audit: Pick<AuditLog, 'seal'>,
    private readonly deployment: DeploymentRetention,
  ) {}

  /** The group's own policy (texts as stored; a field that no longer parses is ignored). */
  async policy(groupId: string): Promise<GroupRetentionPolicy> {
    const [files, records] = await this.redis.hmget(this.keys.groupRetention(groupId), 'files', 'records');
    const policy: GroupRetentionPolicy = {};
    if (files !== null && FilesRetentionText.safeParse(files).success) policy.files = files;
    if (records !== null && RecordsRetentionText.safeParse(records).success) policy.records = records;
    return policy;
  }

  /** The rule that applies to the group's files or records. */
  async effective(groupId: string, kind: GroupRetentionClass): Promise<EffectiveRule> {
    return effectiveOf(await this.policy(groupId), kind, this.deployment);
  }

  async view(groupId: string): Promise<GroupRetentionView> {
    return viewOf(groupId, await this.policy(groupId), this.deployment);
  }

  /**
   * Replaces the group's policy (`{}` clears it). The new rules and their audit entry
   * `retention-policy-set` are written in one MULTI (same shard slot), so no change goes unrecorded;
   * the entry is sealed into the chain before this returns.
   */
  async set(groupId: string, by: string, policy: GroupRetentionPolicy, now = new Date()): Promise<GroupRetentionView> {
    const canonical = canonicalPolicy(policy);
    const entry: AuditEntry = {
      type: 'retention-policy-set',
      at: now.toISOString(),
      groupId,
      by,
      files: canonical.files ?? null,
      records: canonical.records ?? null,
    };
    const shard = shardOf(groupId);
    const key = this.keys.groupRetention(groupId);
    const tx = this.redis.multi().del(key);
    if (Object.keys(canonical).length > 0) tx.hset(key, canonical);
    const results = await tx.rpush(this.keys.auditPending(shard), pendingItem(newEntryId(), encodeEntry(entry))).exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
    await this.audit.seal([shard]);
    return viewOf(groupId, canonical, this.deployment);
  }
}

/** Each rule in its canonical text (`48h` is stored as `2d`). */
function canonicalPolicy(policy: GroupRetentionPolicy): GroupRetentionPolicy {
  const out: GroupRetentionPolicy = {};
  if (policy.files !== undefined) out.files = formatRetentionRule(parseRetentionRule(policy.files, true)!);
  if (policy.records !== undefined) out.records = formatRetentionRule(parseRetentionRule(policy.records, false)!);
  return out;
}

export function effectiveOf(
  policy: GroupRetentionPolicy,
  kind: GroupRetentionClass,
  deployment: DeploymentRetention,
): EffectiveRule {
  const own = policy[kind];
  const rule = own === undefined ? null : parseRetentionRule(own, kind === 'files');
  return rule ? { rule, source: 'group' } : { rule: deployment[kind], source: 'deployment' };
}

function viewOf(groupId: string, policy: GroupRetentionPolicy, deployment: DeploymentRetention): GroupRetentionView {
  const shown = (kind: GroupRetentionClass) => {
    const { rule, source } = effectiveOf(policy, kind, deployment);
    return { rule: formatRetentionRule(rule), source };
  };
  return { groupId, policy, effective: { files: shown('files'), records: shown('records') } };
}
