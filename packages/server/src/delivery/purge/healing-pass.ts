/**
 * The reconciler's healing pass: what the ledger still needs but Sync lost comes back. Ready
 * groups whose map is missing get it re-provisioned (with grants) and their pending pointers
 * re-published; pending pointers whose item is missing from an existing map are re-published.
 * Everything younger than the grace period is left to the normal publish path.
 */
import { syncMapOf } from '@conduit/shared';
import { SyncRateLimitedError } from '../../adapters/twilio/twilio-sync-admin.js';
import type { SyncWriteBudget } from '../../adapters/redis/token-bucket.js';
import { reprovisionMap, republishPointer, type HealDeps } from '../sync/heal.js';

const BATCH = 500;

export interface HealingDeps extends HealDeps {
  budget: SyncWriteBudget;
  /** The Sync item TTL pointers were published with (re-published items keep what is left of it). */
  itemTtlSeconds: number;
}

export interface HealingResult {
  mapsHealed: number;
  itemsHealed: number;
}

/** Re-publishes the group's pending pointers (registered before `cutoff`) whose key is not in `present`. */
export async function healItems(
  deps: HealingDeps,
  groupId: string,
  present: ReadonlySet<string>,
  cutoff: Date,
): Promise<number> {
  let healed = 0;
  for await (const ids of deps.ledger.pendingInGroup(groupId)) {
    for (const id of ids) {
      if (present.has(id)) continue;
      const kept = await deps.ledger.published(id);
      if (!kept || Date.parse(kept.createdAt) >= cutoff.getTime()) continue;
      const outcome = await guarded(deps, groupId, () => republishPointer(deps, id, deps.itemTtlSeconds, 'reconcile'));
      if (outcome === null) return healed;
      if (outcome === 'republished') healed += 1;
    }
  }
  return healed;
}

/**
 * Re-provisions the map of every ready group (in the index, or with pending pointers) created
 * before `cutoff` whose map is not among `existingMaps`, then re-publishes its pending pointers.
 */
export async function healMaps(
  deps: HealingDeps,
  existingMaps: ReadonlySet<string>,
  cutoff: Date,
): Promise<HealingResult> {
  const result: HealingResult = { mapsHealed: 0, itemsHealed: 0 };
  const seen = new Set<string>();
  const heal = async (groupId: string): Promise<void> => {
    if (seen.has(groupId) || existingMaps.has(syncMapOf(groupId))) return;
    seen.add(groupId);
    const group = await deps.groups.getReady(groupId);
    if (!group || Date.parse(group.createdAt) >= cutoff.getTime()) return;
    // 'exists': re-created meanwhile; its items are checked against a fresh listing next pass.
    if ((await guarded(deps, groupId, () => reprovisionMap(deps, groupId, 'reconcile'))) !== 'healed') return;
    result.mapsHealed += 1;
    result.itemsHealed += await healItems(deps, groupId, new Set(), cutoff);
  };
  for await (const groupIds of deps.groups.readyGroups()) for (const g of groupIds) await heal(g);
  // Groups made ready before the index existed are still found through their pending pointers.
  const pending = await deps.ledger.pendingBefore(cutoff, BATCH);
  for (const g of await deps.ledger.groupsOf(pending)) if (g !== null) await heal(g);
  return result;
}

/** Runs one Sync write under the map's write budget; null (logged) when it failed: the next pass retries. */
async function guarded<T>(deps: HealingDeps, groupId: string, write: () => Promise<T>): Promise<T | null> {
  const map = syncMapOf(groupId);
  try {
    for (let wait = await deps.budget.take(map); wait > 0; wait = await deps.budget.take(map)) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return await write();
  } catch (err) {
    if (err instanceof SyncRateLimitedError) await deps.budget.pause(map, err.retryAfterMs ?? 1000);
    deps.logger.warn({ err, groupId }, 'healing pass could not heal Sync; the next pass retries');
    return null;
  }
}
