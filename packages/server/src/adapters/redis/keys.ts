import { createHash } from 'node:crypto';

/**
 * Every Redis key the server uses, under one prefix so deployments (and test files) can share a
 * Redis without colliding. Ids are validated before they get here, so they never contain ':' or
 * braces.
 *
 * Redis Cluster: keys that one script or transaction touches together share a hash tag (the part
 * in braces), so they live in one slot. A group's keys, its pointers' keys and the ledger indexes
 * they are filed in carry the tag of the group's shard (`{s<n>}`, KEY_SHARDS of them), so the
 * ledger spreads over the cluster's masters while every delivery script stays in one slot;
 * scanners walk the shards. An identity's keys carry `{i:<identity>}`. The same layout serves a
 * single Redis, where tags mean nothing.
 */

/**
 * How many shards the ledger's indexes are split into: the most masters that share the delivery
 * ledger. Fixed: a different number files every group's keys under other names.
 */
export const KEY_SHARDS = 32;
export const SHARDS: readonly number[] = Array.from({ length: KEY_SHARDS }, (_, i) => i);

/** Groups whose shard is remembered: one purge names its group's keys ~8 times. */
const SHARD_CACHE_SIZE = 10_000;
const shardCache = new Map<string, number>();

/** The shard a group's keys (and its pointers' keys) live in. */
export function shardOf(groupId: string): number {
  let shard = shardCache.get(groupId);
  if (shard === undefined) {
    shard = createHash('sha256').update(groupId).digest().readUInt32BE(0) % KEY_SHARDS;
    // Bounded: a full cache starts over rather than growing with every group ever seen.
    if (shardCache.size >= SHARD_CACHE_SIZE) shardCache.clear();
    shardCache.set(groupId, shard);
  }
  return shard;
}

const shardTag = (shard: number): string => `{s${shard}}`;
const groupTag = (groupId: string): string => shardTag(shardOf(groupId));
const identityTag = (identity: string): string => `{i:${identity}}`;

export interface Keys {
  prefix: string;
  account(identity: string): string;
  /** Present once the identity exists (a dev or OPAQUE account, or a registered device). */
  knownIdentity(identity: string): string;
  /** Hash deviceId -> createdAt. */
  devices(identity: string): string;
  /** Set of the identity's revoked device ids: tombstones, kept for good. */
  revokedDevices(identity: string): string;
  /** Hash revoked deviceId -> '<createdAt> <revokedAt>' (ISO), so members can judge old envelopes. */
  revokedDeviceTimes(identity: string): string;
  /** Hash deviceId -> sealed name (ciphertext only; sealed by the identity for itself). */
  deviceNames(identity: string): string;
  /** Base of the group's records keys (adapters/redis/records.ts). */
  groupRecords(groupId: string): string;
  group(groupId: string): string;
  groupMembers(groupId: string): string;
  pointer(groupId: string, pointerId: string): string;
  pointerExpected(groupId: string, pointerId: string): string;
  pointerAcked(groupId: string, pointerId: string): string;
  /** Hash endpoint key -> '<at ISO> <signature base64>': each acknowledging endpoint's signed receipt. */
  pointerReceipts(groupId: string, pointerId: string): string;
  /** Hash endpoint key -> JSON {kind, code, at}: anomalies endpoints reported (one each). */
  pointerAnomalies(groupId: string, pointerId: string): string;
  /** Endpoints dropped from a pointer's expected set (member or device removed). */
  pointerDropped(groupId: string, pointerId: string): string;
  /** The pointer's group id: how routes and jobs that know only the pointer id find its keys. */
  pointerGroup(pointerId: string): string;
  /** Counter of anomaly reports by one endpoint in the current window (bounds the audit log). */
  anomalyBudget(endpoint: string): string;
  /** Pointer ids of the shard whose last ack landed, waiting for the relay to hand them to BullMQ. */
  outbox(shard: number): string;
  /** Pointer ids of the shard the relay has taken but not yet confirmed enqueued. */
  outboxProcessing(shard: number): string;
  /** List the API pushes to after a last ack: wakes a relay blocked on it (a hint; relays also poll). */
  outboxWake(): string;
  /** BullMQ's own prefix (it appends ':<queue>:...'); a hash tag, so each queue's keys share a slot. */
  bullPrefix(): string;
  /** Sorted set of the shard's pending pointers, scored by registration time (ms): the sweeper's index. */
  pendingPointers(shard: number): string;
  /** Sorted set of a group's pending pointers (score: registration ms): membership changes walk it. */
  groupPending(groupId: string): string;
  /** Sorted set of the shard's pointers in 'purging', scored by when they got there (ms): the reconciler's index. */
  purgingPointers(shard: number): string;
  /** Counter bumped on every membership or device removal touching the group (see register). */
  groupEpoch(groupId: string): string;
  /** Set of groups an identity participates in (written before the membership, checked on read). */
  identityGroups(identity: string): string;
  /** Set of ready groups: the reconciler's healing pass re-provisions their maps when missing. */
  readyGroups(): string;
  /** Audit chain records (list), its head {seq, hash} (hash) and its recently sealed items' hashes (sorted set by seq). */
  auditLog(): string;
  auditHead(): string;
  auditSealed(): string;
  /** The shard's audit entries committed but not yet in the chain ('<id> <body>', oldest first): the sealer's input. */
  auditPending(shard: number): string;
  /** Marker of an entry id already enqueued from Node (expires), so a resent enqueue adds nothing. */
  auditEntryId(shard: number, id: string): string;
  /** Token bucket of Sync writes against one Sync object. */
  syncBucket(objectName: string): string;
  /** Hash {epoch, locked} of an identity's sessions: tokens from an older epoch are refused. */
  sessionState(identity: string): string;
  /** Hash: a device's dev-mode refresh token family (rotateRefresh-3.lua); expires with the family. */
  refreshFamily(identity: string, deviceId: string): string;
  /** One step of an OPAQUE flow (login state, re-registration ticket): single use, short TTL. */
  authFlow(id: string): string;
  /** Fixed-window counter of authentication attempts by one identity or one client address. */
  authAttempts(scope: 'id' | 'addr', subject: string): string;
  /** Set of identity names reserved with `conduit-server admin reserve` (lower case). */
  reservedIdentities(): string;
  /** SHA-256 of the one-time registration code of a reserved identity (lower case). */
  bootstrapCode(identity: string): string;
  /** A resumable upload's record, its parts, and the index of uploads by when they may be aborted. */
  upload(uploadId: string): string;
  uploadParts(uploadId: string): string;
  uploadExpiry(): string;
  /** JSON of the orphan-upload batch being aborted, until its receipt is written (lifecycle/orphan-uploads.ts). */
  orphanUploadsJournal(): string;
  /** rate-limiter-flexible's key prefix (it appends ':<key>' to it). */
  rateLimitPrefix(): string;
  /** One limiter's counter of one subject, under the subject's hash tag: each counter is one slot. */
  rateLimitKey(limiter: string, subject: RateLimitSubject): string;
  /** Hash {bytes}: the stored bytes counted against the identity's quota. */
  quotaUsage(identity: string): string;
  /** Hash reservation id -> bytes: byte reservations not settled yet (open multipart uploads, record writes). */
  quotaReservations(identity: string): string;
  /** Sorted set of what counts against a counted quota ('<groupId>/<pointerId>' or group ids), scored by claim time (ms). */
  quotaMembers(identity: string, quota: 'pointers' | 'groups'): string;
  /** Hash refund id -> bytes: stored-bytes refunds applied to the identity lately (quotaRefund-2.lua). */
  quotaRefunded(identity: string): string;
  /** List of JSON refund items {id, refunds: [identity, bytes][]}: bytes of deleted objects to give back (limits/quota-refunds.ts). */
  quotaRefunds(shard: number): string;
  /** Sorted set of a group's stored objects (objectId), scored by when the server handed out the id (ms): the object index (lifecycle/object-index.ts). */
  groupObjects(groupId: string): string;
  /** Hash objectId -> JSON {sender, state, pointerId?, size?, bytes?}: what the object index knows of each. */
  groupObjectMeta(groupId: string): string;
  /** Set of the shard's groups that have indexed objects: what the retention job walks. */
  objectGroups(shard: number): string;
  /** Set of '<groupId>/<objectId>' an identity uploaded (erasure of an identity's sent files). */
  identityObjects(identity: string): string;
  /** Hash {tokens, ts}: the retention job's deletes-per-second bucket, shared by every worker. */
  retentionBucket(): string;
  /** Hash {files?, records?}: a group's own retention rules (texts); absent = the deployment's. */
  groupRetention(groupId: string): string;
  /** Hash {name, reason, by, placedAt}: a legal hold on a group or an identity (lifecycle/legal-holds.ts). */
  legalHold(kind: 'group' | 'identity', id: string): string;
  /** Set of '<kind>:<id>' of every hold in place. */
  legalHolds(): string;
  /** The retention run's lease: one run at a time across every worker (lifecycle/run-lease.ts). */
  retentionLease(): string;
  /**
   * Hash: an identity deletion's durable progress (lifecycle/identity-deletion.ts), in the slot of
   * the audit shard its `identity-deleted` entry is pending on (finishIdentityDeletion-2.lua).
   */
  identityDeletion(identity: string): string;
  /**
   * Hash cardId -> JSON {rawCard, revokedAt}: a deleted identity's cards, kept before the directory
   * revoked them (adapters/redis/retired-cards.ts).
   */
  retiredCards(identity: string): string;
  /** Sorted set of the shard's groups being deleted (score: when tombstoned, ms): the worker's to-do list. */
  groupDeletions(shard: number): string;
}

/** The audit shard an identity deletion's entry goes to (its progress record shares its slot). */
export const identityDeletionShard = (identity: string): number => shardOf(`identity:${identity}`);

/** Whom a rate limiter counts: an authenticated identity or a client address. */
export type RateLimitSubject = { identity: string } | { address: string };

export function createKeys(prefix: string): Keys {
  const ptr = (groupId: string, pointerId: string) => `${prefix}ptr:${groupTag(groupId)}:${pointerId}`;
  const dev = (identity: string) => `${prefix}dev:${identityTag(identity)}`;
  const grp = (groupId: string) => `${prefix}grp:${groupTag(groupId)}:${groupId}`;
  const ptrs = (shard: number) => `${prefix}ptrs:${shardTag(shard)}`;
  return {
    prefix,
    account: (identity) => `${prefix}acct:${identityTag(identity)}`,
    knownIdentity: (identity) => `${prefix}known:${identityTag(identity)}`,
    devices: (identity) => dev(identity),
    revokedDevices: (identity) => `${dev(identity)}:revoked`,
    revokedDeviceTimes: (identity) => `${dev(identity)}:revokedAt`,
    deviceNames: (identity) => `${dev(identity)}:names`,
    groupRecords: (groupId) => `${grp(groupId)}:rec`,
    group: grp,
    groupMembers: (groupId) => `${grp(groupId)}:members`,
    pointer: ptr,
    pointerExpected: (groupId, pointerId) => `${ptr(groupId, pointerId)}:expected`,
    pointerAcked: (groupId, pointerId) => `${ptr(groupId, pointerId)}:acked`,
    pointerReceipts: (groupId, pointerId) => `${ptr(groupId, pointerId)}:receipts`,
    pointerAnomalies: (groupId, pointerId) => `${ptr(groupId, pointerId)}:anomalies`,
    pointerDropped: (groupId, pointerId) => `${ptr(groupId, pointerId)}:dropped`,
    pointerGroup: (pointerId) => `${prefix}ptrgrp:${pointerId}`,
    anomalyBudget: (endpoint) => `${prefix}anomaly-budget:${endpoint}`,
    outbox: (shard) => `${ptrs(shard)}:outbox`,
    outboxProcessing: (shard) => `${ptrs(shard)}:outbox:processing`,
    outboxWake: () => `${prefix}outbox:wake`,
    bullPrefix: () => `{${prefix}bull}`,
    pendingPointers: (shard) => `${ptrs(shard)}:pending`,
    groupPending: (groupId) => `${grp(groupId)}:pending`,
    purgingPointers: (shard) => `${ptrs(shard)}:purging`,
    groupEpoch: (groupId) => `${grp(groupId)}:epoch`,
    identityGroups: (identity) => `${prefix}idgrp:${identityTag(identity)}`,
    readyGroups: () => `${prefix}groups:ready`,
    auditLog: () => `${prefix}audit:{chain}`,
    auditHead: () => `${prefix}audit:{chain}:head`,
    auditSealed: () => `${prefix}audit:{chain}:sealed`,
    auditPending: (shard) => `${ptrs(shard)}:audit:pending`,
    auditEntryId: (shard, id) => `${ptrs(shard)}:audit:id:${id}`,
    syncBucket: (objectName) => `${prefix}bucket:${objectName}`,
    sessionState: (identity) => `${prefix}sess:${identityTag(identity)}`,
    refreshFamily: (identity, deviceId) => `${prefix}refresh:${identityTag(identity)}:${deviceId}`,
    authFlow: (id) => `${prefix}authflow:${id}`,
    authAttempts: (scope, subject) => `${prefix}authrate:{auth}:${scope}:${subject}`,
    reservedIdentities: () => `${prefix}reserved`,
    bootstrapCode: (identity) => `${prefix}bootstrap:${identity}`,
    upload: (uploadId) => `${prefix}upl:{upl}:${uploadId}`,
    uploadParts: (uploadId) => `${prefix}upl:{upl}:${uploadId}:parts`,
    uploadExpiry: () => `${prefix}uploads:{upl}:expiry`,
    orphanUploadsJournal: () => `${prefix}uploads:{upl}:orphans`,
    rateLimitPrefix: () => `${prefix}rl`,
    rateLimitKey: (limiter, subject) =>
      `${limiter}:${'identity' in subject ? identityTag(subject.identity) : `{a:${subject.address}}`}`,
    quotaUsage: (identity) => `${prefix}quota:${identityTag(identity)}`,
    quotaReservations: (identity) => `${prefix}quota:${identityTag(identity)}:held`,
    quotaMembers: (identity, quota) => `${prefix}quota:${identityTag(identity)}:${quota}`,
    quotaRefunded: (identity) => `${prefix}quota:${identityTag(identity)}:refunded`,
    quotaRefunds: (shard) => `${ptrs(shard)}:quota-refunds`,
    groupObjects: (groupId) => `${grp(groupId)}:objs`,
    groupObjectMeta: (groupId) => `${grp(groupId)}:objs:meta`,
    objectGroups: (shard) => `${ptrs(shard)}:objgroups`,
    identityObjects: (identity) => `${prefix}idobj:${identityTag(identity)}`,
    retentionBucket: () => `${prefix}retention:bucket`,
    groupRetention: (groupId) => `${grp(groupId)}:retention`,
    legalHold: (kind, id) => `${prefix}hold:{hold}:${kind}:${id}`,
    legalHolds: () => `${prefix}holds:{hold}`,
    retentionLease: () => `${prefix}retention:lease`,
    identityDeletion: (identity) => `${ptrs(identityDeletionShard(identity))}:iddel:${identity}`,
    retiredCards: (identity) => `${prefix}retired:${identityTag(identity)}`,
    groupDeletions: (shard) => `${ptrs(shard)}:group-deletions`,
  };
}
