/**
 * Healing Sync when a group's map or a pending pointer's item is gone although the ledger still
 * needs it (the map expired or an operator deleted it; Sync lost the item). Used on publish (a
 * 'map-missing' answer) and by the reconciler's healing pass. Every heal is an audit entry and a
 * metric (`conduit_sync_heals_total{what}`).
 */
import { ConduitError, syncMapOf } from '@conduit/shared';
import type { SyncAdmin } from '@conduit/shared';
import type { Logger } from 'pino';
import type { AuditLog } from '../../audit/audit-log.js';
import { syncHealed } from '../../audit/entries.js';
import type { DeliveryObserver } from '../events.js';
import type { GroupRepository } from '../../adapters/redis/groups.js';
import type { PointerLedger } from '../../adapters/redis/pointers.js';
import { grantReader, provisionGroupMap } from './provision.js';

export interface HealDeps {
  syncAdmin: SyncAdmin;
  groups: GroupRepository;
  ledger: PointerLedger;
  audit: AuditLog;
  observer: Required<DeliveryObserver>;
  logger: Logger;
}

export type HealTrigger = 'publish' | 'reconcile' | 'member';

/**
 * Re-creates a ready group's map with its grants (owner and members read-only) and audits it.
 * 'not-ready' when the group is not (or no longer) ready: there is nothing to heal. 'exists' when
 * someone re-created it meanwhile (a concurrent publish or pass): its grants are set again, unaudited.
 */
export async function reprovisionMap(
  deps: HealDeps,
  groupId: string,
  trigger: HealTrigger,
): Promise<'healed' | 'exists' | 'not-ready'> {
  const group = await deps.groups.getReady(groupId);
  if (!group) return 'not-ready';
  if ((await provisionGroupMap(deps.syncAdmin, groupId, group.owner, group.members)) === 'exists') return 'exists';
  const grants = new Set([group.owner, ...group.members]).size;
  await deps.audit.append(
    syncHealed({ what: 'map', groupId, map: syncMapOf(groupId), trigger, grants, at: new Date() }),
  );
  deps.observer.onSyncHealed({ what: 'map' });
  deps.observer.onSyncHealed({ what: 'permissions', count: grants });
  deps.logger.warn({ groupId, trigger, grants }, 'Sync map was missing: re-provisioned');
  return 'healed';
}

/**
 * A member's receive found its map missing or unreadable: make sure the map exists and the member
 * may read it. Costs one ensure and one grant while the map is there (a member cannot make the
 * server rewrite every grant); a map that was gone is re-provisioned for everyone and audited.
 */
export async function restoreReader(deps: HealDeps, groupId: string, identity: string): Promise<void> {
  if ((await grantReader(deps.syncAdmin, groupId, identity)) === 'created') {
    await reprovisionMap(deps, groupId, 'member');
  }
}

/**
 * Writes one item; when the map is gone, re-provisions it and writes again. Sync failures are
 * DEPENDENCY_UNAVAILABLE (the caller's retry heals).
 */
export async function setItemHealing(
  deps: HealDeps,
  groupId: string,
  key: string,
  data: Record<string, unknown>,
  ttlSeconds: number,
  trigger: HealTrigger,
  likely: 'new' | 'existing' = 'new',
): Promise<void> {
  const map = syncMapOf(groupId);
  if ((await deps.syncAdmin.setMapItem(map, key, data, ttlSeconds, likely)) === 'written') return;
  if ((await reprovisionMap(deps, groupId, trigger)) === 'not-ready') {
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'The group is not ready; retry.');
  }
  if ((await deps.syncAdmin.setMapItem(map, key, data, ttlSeconds, 'new')) === 'map-missing') {
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'The Sync map vanished again; retry.');
  }
}

/**
 * Re-publishes a pending pointer's item from the copy the ledger kept, with what is left of its
 * TTL. 'skipped' when it is no longer pending, no copy was kept, or its TTL has run out.
 */
export async function republishPointer(
  deps: HealDeps,
  pointerId: string,
  itemTtlSeconds: number,
  trigger: HealTrigger,
  now = new Date(),
): Promise<'republished' | 'skipped'> {
  const kept = await deps.ledger.published(pointerId);
  if (kept?.state !== 'pending') return 'skipped';
  const left = itemTtlSeconds - Math.floor((now.getTime() - Date.parse(kept.createdAt)) / 1000);
  if (!(left > 0)) return 'skipped';
  const data = JSON.parse(kept.itemJson) as Record<string, unknown>;
  await setItemHealing(deps, kept.groupId, pointerId, data, left, trigger);
  await deps.audit.append(
    syncHealed({
      what: 'item',
      groupId: kept.groupId,
      map: syncMapOf(kept.groupId),
      itemKey: pointerId,
      trigger,
      at: now,
    }),
  );
  deps.observer.onSyncHealed({ what: 'item' });
  return 'republished';
}
