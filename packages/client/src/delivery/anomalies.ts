import { ConduitError } from '@conduit/shared';
import type { AnomalyKind, GroupId, PointerId } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import type { ReceivedLog } from '../state/received-log.js';

/** Errors that mean "this pointer is not what it claims": reported, never retried, never acknowledged. */
const VERIFICATION_CODES = new Set([
  'INTEGRITY',
  'SENDER_MISMATCH',
  'SENDER_DEVICE_UNKNOWN',
  'SENDER_DEVICE_REVOKED',
  'FORMAT_UNSUPPORTED',
  'VALIDATION_FAILED',
  'POINTER_MISMATCH',
]);

export const isVerificationFailure = (err: unknown): err is ConduitError =>
  err instanceof ConduitError && VERIFICATION_CODES.has(err.code);

export interface AnomalyDeps {
  groupId: GroupId;
  api: Pick<HttpClient, 'reportAnomaly'>;
  received: ReceivedLog;
  log: (line: string) => void;
}

/**
 * Records the pointer locally as an anomaly (final: never acknowledged) and reports it to the
 * server, which audits it. A failed report is logged: the local record already keeps this
 * endpoint from acknowledging, and the ledger shows the missing receipt.
 */
export async function reportAnomaly(
  deps: AnomalyDeps,
  pointerId: PointerId,
  kind: AnomalyKind,
  code: string,
): Promise<void> {
  await deps.received.record(pointerId, 'anomaly');
  deps.log(`pointer ${pointerId}: anomaly (${kind}, ${code}) reported`);
  try {
    await deps.api.reportAnomaly(deps.groupId, { pointerId, kind, code });
  } catch (err) {
    deps.log(`pointer ${pointerId}: anomaly report failed (${err instanceof ConduitError ? err.code : 'error'})`);
  }
}
