import { type AuditEntry, type Endpoint, endpointKey } from '@conduit/shared';
import type { ReceiptInputs } from '../adapters/redis/pointers.js';
import { encodeEntry } from './audit-log.js';

/**
 * The audit entries Conduit writes. Metadata only: ids, identities, device ids, timestamps,
 * counts, reasons. Never file names, media types, sizes of plaintext or content.
 */
const endpoints = (list: readonly Endpoint[]): string[] => list.map(endpointKey).sort();

/** Deletion receipt: which endpoints acknowledged, which never did, and why the item went. */
export function deletionReceipt(p: ReceiptInputs, at: Date, outcome: 'removed' | 'absent'): string {
  const acked = new Set(endpoints(p.acknowledged));
  const dropped = new Set(endpoints(p.dropped));
  const entry: AuditEntry = {
    type: 'deletion-receipt',
    at: at.toISOString(),
    pointerId: p.pointerId,
    groupId: p.groupId,
    reason: p.reason ?? 'acknowledged',
    outcome,
    registeredAt: p.createdAt,
    acknowledgedBy: [...acked],
    neverAcknowledged: endpoints(p.expected).filter((e) => !acked.has(e) && !dropped.has(e)),
    dropped: [...dropped],
  };
  return encodeEntry(entry);
}

export function purgeFailed(
  p: { pointerId: string; groupId: string },
  at: Date,
  code: string,
  attempts: number,
): string {
  return encodeEntry({
    type: 'purge-failed',
    at: at.toISOString(),
    pointerId: p.pointerId,
    groupId: p.groupId,
    code,
    attempts,
  });
}

export function memberRemoved(e: {
  groupId: string;
  identity: string;
  by: string;
  at: Date;
  droppedAcks: number;
  purgesEnqueued: number;
  syncAccess: 'revoked' | 'absent';
}): AuditEntry {
  return {
    type: 'member-removed',
    at: e.at.toISOString(),
    groupId: e.groupId,
    identity: e.identity,
    by: e.by,
    droppedAcks: e.droppedAcks,
    purgesEnqueued: e.purgesEnqueued,
    syncAccess: e.syncAccess,
  };
}

export function deviceRemoved(e: {
  identity: string;
  deviceId: string;
  at: Date;
  groups: number;
  droppedAcks: number;
  purgesEnqueued: number;
}): AuditEntry {
  return {
    type: 'device-removed',
    at: e.at.toISOString(),
    identity: e.identity,
    deviceId: e.deviceId,
    groups: e.groups,
    droppedAcks: e.droppedAcks,
    purgesEnqueued: e.purgesEnqueued,
  };
}

/** A Sync item the ledger does not account for (or no longer), removed by the reconciler. */
export function strayItemRemoved(e: { map: string; key: string; at: Date; ledgerState: string }): AuditEntry {
  return { type: 'stray-item-removed', at: e.at.toISOString(), map: e.map, itemKey: e.key, ledgerState: e.ledgerState };
}

/**
 * The server healed Sync: re-provisioned a group's missing map (with `grants` read-only grants) or
 * re-published a pending pointer's missing item, on publish or in the reconciler's healing pass.
 */
export function syncHealed(e: {
  what: 'map' | 'item';
  groupId: string;
  map: string;
  itemKey?: string;
  trigger: 'publish' | 'reconcile' | 'member';
  grants?: number;
  at: Date;
}): AuditEntry {
  return {
    type: 'sync-healed',
    at: e.at.toISOString(),
    what: e.what,
    groupId: e.groupId,
    map: e.map,
    trigger: e.trigger,
    ...(e.itemKey === undefined ? {} : { itemKey: e.itemKey }),
    ...(e.grants === undefined ? {} : { grants: e.grants }),
  };
}

/** A receiving endpoint reported that a pointer vanished, changed, failed verification or is unknown. */
export function pointerAnomaly(e: {
  pointerId: string;
  groupId: string;
  reporter: Endpoint;
  kind: string;
  code: string;
  at: Date;
}): AuditEntry {
  return {
    type: 'pointer-anomaly',
    at: e.at.toISOString(),
    pointerId: e.pointerId,
    groupId: e.groupId,
    reportedBy: endpointKey(e.reporter),
    kind: e.kind,
    code: e.code,
  };
}
