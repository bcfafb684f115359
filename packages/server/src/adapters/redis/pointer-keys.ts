import { shardOf, type Keys } from './keys.js';

/**
 * The keys the ledger's transition scripts take (pointers.ts): a pointer's own keys and the
 * indexes of its group's shard, all under the group's hash tag, so each script runs in one slot
 * of a Redis Cluster.
 */
export function pointerScriptKeys(k: Keys, pointerId: string, groupId: string): string[] {
  const shard = shardOf(groupId);
  return [
    k.pointer(groupId, pointerId),
    k.pointerExpected(groupId, pointerId),
    k.pointerAcked(groupId, pointerId),
    k.pointerDropped(groupId, pointerId),
    k.pendingPointers(shard),
    k.groupPending(groupId),
    k.purgingPointers(shard),
    k.outbox(shard),
  ];
}

/** The keys of the scripts that end a pointer (purged, failed, withdrawn): its record, the purging index, the audit list. */
export function pointerTerminalKeys(k: Keys, pointerId: string, groupId: string): string[] {
  const shard = shardOf(groupId);
  return [k.pointer(groupId, pointerId), k.purgingPointers(shard), k.auditPending(shard)];
}
