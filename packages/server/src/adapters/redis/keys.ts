/**
 * Every Redis key the server uses, under one prefix so deployments (and test files) can share a
 * Redis without colliding. Ids are validated before they get here, so they never contain ':'.
 */
export interface Keys {
  prefix: string;
  account(identity: string): string;
  /** Set of identities known to the server (dev accounts and any identity that registered a device). */
  identities(): string;
  /** Hash deviceId -> createdAt. */
  devices(identity: string): string;
  /** Set of the identity's revoked device ids: tombstones, kept for good. */
  revokedDevices(identity: string): string;
  /** Hash revoked deviceId -> '<createdAt> <revokedAt>' (ISO), so members can judge old envelopes. */
  revokedDeviceTimes(identity: string): string;
  /** Hash deviceId -> sealed name (ciphertext only; sealed by the identity for itself). */
  deviceNames(identity: string): string;
  group(groupId: string): string;
  groupMembers(groupId: string): string;
  pointer(pointerId: string): string;
  pointerExpected(pointerId: string): string;
  pointerAcked(pointerId: string): string;
  /** Hash endpoint key -> '<at ISO> <signature base64>': each acknowledging endpoint's signed receipt. */
  pointerReceipts(pointerId: string): string;
  /** Hash endpoint key -> JSON {kind, code, at}: anomalies endpoints reported (one each). */
  pointerAnomalies(pointerId: string): string;
  /** Counter of anomaly reports by one endpoint in the current window (bounds the audit log). */
  anomalyBudget(endpoint: string): string;
  /** Pointer ids whose last ack landed, waiting for the relay to hand them to BullMQ. */
  outbox(): string;
  /** Pointer ids the relay has taken but not yet confirmed enqueued. */
  outboxProcessing(): string;
  /** BullMQ's own prefix (it appends ':<queue>:...'). */
  bullPrefix(): string;
  /** Endpoints dropped from a pointer's expected set (member or device removed). */
  pointerDropped(pointerId: string): string;
  /** Sorted set of every pending pointer, scored by registration time (ms): the sweeper's index. */
  pendingPointers(): string;
  /** Sorted set of a group's pending pointers (score: registration ms): membership changes walk it. */
  groupPending(groupId: string): string;
  /** Sorted set of pointers in 'purging', scored by when they got there (ms): the reconciler's index. */
  purgingPointers(): string;
  /** Counter bumped on every membership or device removal touching the group (see register). */
  groupEpoch(groupId: string): string;
  /** Set of groups an identity participates in. */
  identityGroups(identity: string): string;
  /** Set of ready groups: the reconciler's healing pass re-provisions their maps when missing. */
  readyGroups(): string;
  /** Audit chain records (list) and its head {seq, hash} (hash). */
  auditLog(): string;
  auditHead(): string;
  /** Audit entries committed but not yet in the chain ('<id> <body>', oldest first): the sealer's input. */
  auditPending(): string;
  /** Marker of an entry id already enqueued from Node (expires), so a resent enqueue adds nothing. */
  auditEntryId(id: string): string;
  /** Token bucket of Sync writes against one Sync object. */
  syncBucket(objectName: string): string;
  /** Hash {epoch, locked} of an identity's sessions: tokens from an older epoch are refused. */
  sessionState(identity: string): string;
  /** One step of an OPAQUE flow (login state, re-registration ticket): single use, short TTL. */
  authFlow(id: string): string;
  /** Fixed-window counter of authentication attempts by one identity or one client address. */
  authAttempts(scope: 'id' | 'addr', subject: string): string;
  /** Set of identity names reserved with `conduit-server admin reserve` (lower case). */
  reservedIdentities(): string;
  /** SHA-256 of the one-time registration code of a reserved identity (lower case). */
  bootstrapCode(identity: string): string;
}

export function createKeys(prefix: string): Keys {
  return {
    prefix,
    account: (identity) => `${prefix}acct:${identity}`,
    identities: () => `${prefix}identities`,
    devices: (identity) => `${prefix}dev:${identity}`,
    revokedDevices: (identity) => `${prefix}dev:${identity}:revoked`,
    revokedDeviceTimes: (identity) => `${prefix}dev:${identity}:revokedAt`,
    deviceNames: (identity) => `${prefix}dev:${identity}:names`,
    group: (groupId) => `${prefix}grp:${groupId}`,
    groupMembers: (groupId) => `${prefix}grp:${groupId}:members`,
    pointer: (pointerId) => `${prefix}ptr:${pointerId}`,
    pointerExpected: (pointerId) => `${prefix}ptr:${pointerId}:expected`,
    pointerAcked: (pointerId) => `${prefix}ptr:${pointerId}:acked`,
    pointerReceipts: (pointerId) => `${prefix}ptr:${pointerId}:receipts`,
    pointerAnomalies: (pointerId) => `${prefix}ptr:${pointerId}:anomalies`,
    anomalyBudget: (endpoint) => `${prefix}anomaly-budget:${endpoint}`,
    outbox: () => `${prefix}outbox`,
    outboxProcessing: () => `${prefix}outbox:processing`,
    bullPrefix: () => `${prefix}bull`,
    pointerDropped: (pointerId) => `${prefix}ptr:${pointerId}:dropped`,
    pendingPointers: () => `${prefix}ptrs:pending`,
    groupPending: (groupId) => `${prefix}grp:${groupId}:pending`,
    purgingPointers: () => `${prefix}ptrs:purging`,
    groupEpoch: (groupId) => `${prefix}grp:${groupId}:epoch`,
    identityGroups: (identity) => `${prefix}idgrp:${identity}`,
    readyGroups: () => `${prefix}groups:ready`,
    auditLog: () => `${prefix}audit`,
    auditHead: () => `${prefix}audit:head`,
    auditPending: () => `${prefix}audit:pending`,
    auditEntryId: (id) => `${prefix}audit:id:${id}`,
    syncBucket: (objectName) => `${prefix}bucket:${objectName}`,
    sessionState: (identity) => `${prefix}sess:${identity}`,
    authFlow: (id) => `${prefix}authflow:${id}`,
    authAttempts: (scope, subject) => `${prefix}authrate:${scope}:${subject}`,
    reservedIdentities: () => `${prefix}reserved`,
    bootstrapCode: (identity) => `${prefix}bootstrap:${identity}`,
  };
}
