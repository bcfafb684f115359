import { ConduitError } from '@conduit/shared';
import type { AckRequest, AnomalyReport, Endpoint } from '@conduit/shared';
import type { AuditLog } from '../audit/audit-log.js';
import { pointerAnomaly } from '../audit/entries.js';
import type { AnomalyEntry, AnomalyRepository } from '../adapters/redis/anomalies.js';
import type { PointerLedger, PointerRecord } from '../adapters/redis/pointers.js';
import type { DeliveryObserver } from './events.js';
import { ledgerRetentionSeconds } from './retention.js';

export interface DeliveryServiceDeps {
  ledger: PointerLedger;
  anomalies: AnomalyRepository;
  audit: AuditLog;
  observer: Required<DeliveryObserver>;
  /** The Sync item's TTL: anomalies are kept as long as the ledger record. */
  itemTtlSeconds: number;
}

type Anomaly = Pick<AnomalyReport, 'pointerId' | 'kind' | 'code'>;

/**
 * Delivery as recipients see it: signed receipts checked against what the ledger bound, the
 * pointer's status, and anomaly reports (one per pointer per endpoint, within a budget). Callers
 * have checked access to the pointer or its group (http/access.ts).
 */
export class DeliveryService {
  constructor(private readonly deps: DeliveryServiceDeps) {}

  /**
   * One recipient endpoint's receipt. It must name the object and envelope the ledger bound, or it
   * is refused (409 POINTER_MISMATCH) and reported as an anomaly. Returns the endpoints still due.
   */
  async acknowledge(pointerId: string, endpoint: Endpoint, claim: AckRequest): Promise<{ remaining: number }> {
    const result = await this.deps.ledger.acknowledge(pointerId, endpoint, claim);
    if (!result.ok) {
      if (result.reason === 'POINTER_MISMATCH') await this.reportAckMismatch(pointerId, endpoint);
      throw new ConduitError(result.reason);
    }
    if (result.firstAck) this.deps.observer.onAck({ pointerId, remaining: result.remaining });
    return { remaining: result.remaining };
  }

  /** Delivery status with signed receipts and anomalies. */
  async status(pointer: PointerRecord): Promise<PointerRecord & { anomalies: AnomalyEntry[] }> {
    return { ...pointer, anomalies: await this.deps.anomalies.list(pointer.groupId, pointer.pointerId) };
  }

  /**
   * A receiving endpoint of `groupId` reports a pointer that vanished, changed, failed verification
   * or that the ledger does not know. True when this is its first report for the pointer (an audit
   * event and a metric); RATE_LIMITED beyond the endpoint's budget.
   */
  async reportAnomaly(groupId: string, reporter: Endpoint, report: Anomaly): Promise<boolean> {
    // A known pointer of another group is not this group's to annotate.
    const ledgerGroup = await this.deps.ledger.groupOf(report.pointerId);
    if (ledgerGroup !== null && ledgerGroup !== groupId) throw new ConduitError('POINTER_NOT_FOUND');
    const outcome = await this.record(groupId, reporter, report);
    if (outcome === 'over-budget') throw new ConduitError('RATE_LIMITED', 'Too many anomaly reports; try later.');
    return outcome === 'recorded';
  }

  /** An ack that names another object or envelope: someone (or something) swapped the pointer. */
  private async reportAckMismatch(pointerId: string, endpoint: Endpoint): Promise<void> {
    const groupId = await this.deps.ledger.groupOf(pointerId);
    if (groupId === null) return;
    await this.record(groupId, endpoint, { pointerId, kind: 'changed', code: 'POINTER_MISMATCH' });
  }

  /** Stores the report; a first report is audited and counted. */
  private async record(
    groupId: string,
    reporter: Endpoint,
    report: Anomaly,
  ): Promise<Awaited<ReturnType<AnomalyRepository['record']>>> {
    const at = new Date();
    const outcome = await this.deps.anomalies.record(
      groupId,
      report.pointerId,
      { ...reporter, kind: report.kind, code: report.code, at: at.toISOString() },
      ledgerRetentionSeconds(this.deps.itemTtlSeconds),
    );
    if (outcome === 'recorded') {
      await this.deps.audit.append(pointerAnomaly({ ...report, groupId, reporter, at }));
      this.deps.observer.onAnomaly({ kind: report.kind });
    }
    return outcome;
  }
}
