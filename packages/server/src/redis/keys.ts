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
  group(groupId: string): string;
  groupMembers(groupId: string): string;
  pointer(pointerId: string): string;
  pointerExpected(pointerId: string): string;
  pointerAcked(pointerId: string): string;
  /** Pointer ids whose last ack landed, waiting for the relay to hand them to BullMQ. */
  outbox(): string;
  /** Pointer ids the relay has taken but not yet confirmed enqueued. */
  outboxProcessing(): string;
  /** BullMQ's own prefix (it appends ':<queue>:...'). */
  bullPrefix(): string;
}

export function createKeys(prefix: string): Keys {
  return {
    prefix,
    account: (identity) => `${prefix}acct:${identity}`,
    identities: () => `${prefix}identities`,
    devices: (identity) => `${prefix}dev:${identity}`,
    group: (groupId) => `${prefix}grp:${groupId}`,
    groupMembers: (groupId) => `${prefix}grp:${groupId}:members`,
    pointer: (pointerId) => `${prefix}ptr:${pointerId}`,
    pointerExpected: (pointerId) => `${prefix}ptr:${pointerId}:expected`,
    pointerAcked: (pointerId) => `${prefix}ptr:${pointerId}:acked`,
    outbox: () => `${prefix}outbox`,
    outboxProcessing: () => `${prefix}outbox:processing`,
    bullPrefix: () => `${prefix}bull`,
  };
}
