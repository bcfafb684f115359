import { ConduitError, endpointKey, syncMapOf, type PointerWithdrawn, type SyncAdmin } from '@conduit/shared';
import type { Logger } from 'pino';
import { encodeEntry } from '../audit/audit-log.js';
import type { PointerLedger, PointerRecord } from '../adapters/redis/pointers.js';
import type { LegalHolds } from './legal-holds.js';
import type { ObjectEraser } from './object-eraser.js';
import type { IndexedObject, ObjectIndex } from './object-index.js';

export interface FileWithdrawalDeps {
  ledger: PointerLedger;
  syncAdmin: Pick<SyncAdmin, 'removeMapItem'>;
  index: Pick<ObjectIndex, 'find'>;
  eraser: Pick<ObjectEraser, 'erase'>;
  holds: Pick<LegalHolds, 'assertNone'>;
  logger: Logger;
}

/** An ack landing between our read and the script refuses it; this many re-reads are plenty. */
const ATTEMPTS = 5;

/**
 * Withdrawing a file (docs/lifecycle.md#withdrawing-a-file-conduit-rm): the caller (its sender or
 * the group owner, checked by the route) ends the pointer for good. Legal holds are checked first;
 * then the ledger moves it to 'withdrawn' with its `file-withdrawn` audit entry (once), the Sync
 * item is deleted now (the purge worker and the reconciler retry if that fails) and the object goes
 * through the eraser (its `objects-deleted` receipt). Every step is idempotent, so a repeat, or a
 * retry after a crash, finishes what the first call left and writes no second entry.
 */
export class FileWithdrawal {
  constructor(private readonly deps: FileWithdrawalDeps) {}

  async withdraw(pointer: PointerRecord, by: string, now = new Date()): Promise<PointerWithdrawn> {
    const { pointerId, groupId } = pointer;
    await this.deps.holds.assertNone(
      { groups: [groupId], identities: [pointer.sender.identity] },
      { action: 'rm', by },
      now,
    );
    const record = await this.mark(pointer, by, now);
    await this.removeItem(groupId, pointerId);
    if (record.objectId !== null) await this.eraseObject(record, record.objectId, by);
    return {
      pointerId,
      groupId,
      state: 'withdrawn',
      withdrawnAt: record.withdrawnAt ?? now.toISOString(),
      withdrawnBy: record.withdrawnBy ?? by,
    };
  }

  /** The ledger transition with its entry; the record as it stands afterwards. */
  private async mark(first: PointerRecord, by: string, now: Date): Promise<PointerRecord> {
    let record: PointerRecord | null = first;
    for (let attempt = 0; attempt < ATTEMPTS && record; attempt += 1) {
      if (record.state === 'withdrawn') return record;
      const outcome = await this.deps.ledger.withdraw(
        record,
        by,
        now,
        record.acknowledged.length,
        fileWithdrawn(record, by, now),
      );
      if (outcome === 'missing') break;
      record = await this.deps.ledger.get(first.pointerId, first.groupId);
      if (outcome === 'withdrawn' || outcome === 'already') {
        if (record?.state === 'withdrawn') return record;
      }
    }
    // Gone meanwhile (its ledger entry expired) or acknowledged faster than we could read.
    if (record === null) throw new ConduitError('POINTER_NOT_FOUND');
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'The pointer kept changing; try again.');
  }

  /** Now, so receivers stop seeing it; on failure the outbox's purge job and the reconciler retry. */
  private async removeItem(groupId: string, pointerId: string): Promise<void> {
    try {
      await this.deps.syncAdmin.removeMapItem(syncMapOf(groupId), pointerId);
    } catch (err) {
      this.deps.logger.warn(
        { err, pointerId, groupId },
        'withdraw: Sync item not deleted yet; the purge worker retries',
      );
    }
  }

  private async eraseObject(record: PointerRecord, objectId: string, by: string): Promise<void> {
    const { groupId } = record;
    // Not indexed (already erased, or stored before the index existed): S3's delete is a no-op or
    // still removes it; the eraser then writes no receipt for an object it does not know.
    const object: IndexedObject = (await this.deps.index.find(groupId, objectId)) ?? {
      groupId,
      objectId,
      sender: endpointKey(record.sender),
      state: 'file',
      pointerId: record.pointerId,
      createdMs: Date.parse(record.createdAt),
    };
    const outcome = await this.deps.eraser.erase(groupId, [object], { kind: 'request', action: 'rm', by });
    if (outcome.failed.length > 0) {
      // The withdrawal stands; a repeat of the request deletes the object.
      throw new ConduitError(
        'DEPENDENCY_UNAVAILABLE',
        'The file was withdrawn but its object is not deleted yet; repeat the request.',
      );
    }
  }
}

/** The audit entry: who had received the file (acknowledged) and who never did. */
export function fileWithdrawn(record: PointerRecord, by: string, at: Date): string {
  const received = record.acknowledged.map(endpointKey).sort();
  const gone = new Set([...received, ...record.dropped.map(endpointKey)]);
  return encodeEntry({
    type: 'file-withdrawn',
    at: at.toISOString(),
    pointerId: record.pointerId,
    groupId: record.groupId,
    objectId: record.objectId,
    by,
    previousState: record.state,
    receivedBy: received,
    neverReceived: record.expected
      .map(endpointKey)
      .filter((e) => !gone.has(e))
      .sort(),
  });
}
