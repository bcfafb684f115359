import {
  API_PREFIX,
  AUDIT_BASE_HEADER,
  AUDIT_HEAD_HEADER,
  ConduitError,
  DEVICE_HEADER,
  errorFromBody,
  GENESIS_HASH,
  verifyAuditText,
} from '@conduit/shared';
import type { AuditPoint, AuditVerification } from '@conduit/shared';
import { networkError, readBounded } from '../api/http-body.js';

/**
 * `conduit audit verify`: checks the server's hash-chained audit log (docs/api.md, GET
 * /v1/admin/audit) with the chain rules of @conduit/shared (docs/format.md §12). A saved copy is
 * checked by verifyAuditFile (platform/node/audit-file.ts).
 */

/** The log is downloaded whole; 512 MiB is far beyond any realistic deployment's metadata. */
const MAX_LOG_BYTES = 512 * 1024 ** 2;

/** The server's audit log as downloaded, with the head and retention anchor it stated. */
export interface AuditDownload {
  text: string;
  head: AuditPoint;
  base: AuditPoint;
}

/**
 * Downloads the log (admin identities only) as this device (`Conduit-Device`, which OIDC-mode
 * servers require) and checks it against the head and anchor the server states.
 */
export async function verifyAuditFromServer(
  serverUrl: string,
  token: string,
  deviceId: string,
): Promise<AuditVerification> {
  const log = await downloadAuditLog(serverUrl, token, deviceId);
  return verifyAuditText(log.text, log.head, log.base);
}

/** GET /v1/admin/audit, whole (bounded), with the Conduit-Audit-Head and -Base it states. */
export async function downloadAuditLog(serverUrl: string, token: string, deviceId: string): Promise<AuditDownload> {
  const base = new URL(serverUrl);
  const url = new URL(base.pathname.replace(/\/$/, '') + `${API_PREFIX}/admin/audit`, base);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, [DEVICE_HEADER]: deviceId },
      redirect: 'error',
    });
  } catch (err) {
    throw networkError(err);
  }
  const body = (await readBounded(res, MAX_LOG_BYTES)).toString('utf8');
  if (!res.ok) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    throw errorFromBody(res.status, json);
  }
  const head = pointOf(res.headers.get(AUDIT_HEAD_HEADER));
  if (!head) throw new ConduitError('TRANSPORT', 'The server did not state the audit head.');
  // A server from before audit retention states no anchor: its log starts at record 1.
  const anchor = res.headers.has(AUDIT_BASE_HEADER) ? pointOf(res.headers.get(AUDIT_BASE_HEADER)) : GENESIS;
  if (!anchor) throw new ConduitError('TRANSPORT', 'The server stated an unreadable audit base.');
  return { text: body, head, base: anchor };
}

const GENESIS: AuditPoint = { seq: 0, hash: GENESIS_HASH };

function pointOf(header: string | null): AuditPoint | null {
  const m = /^(\d{1,15}) ([0-9a-f]{64})$/.exec(header ?? '');
  return m ? { seq: Number(m[1]), hash: m[2]! } : null;
}
