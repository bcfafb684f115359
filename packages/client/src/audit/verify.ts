import {
  API_PREFIX,
  AUDIT_HEAD_HEADER,
  ConduitError,
  DEVICE_HEADER,
  errorFromBody,
  verifyAuditText,
} from '@conduit/shared';
import type { AuditVerification } from '@conduit/shared';
import { networkError, readBounded } from '../api/http-body.js';

/**
 * `conduit audit verify`: checks the server's hash-chained audit log (docs/api.md, GET
 * /v1/admin/audit) with the chain rules of @conduit/shared (docs/format.md §12). A saved copy is
 * checked by verifyAuditFile (platform/node/audit-file.ts).
 */

/** The log is downloaded whole; 512 MiB is far beyond any realistic deployment's metadata. */
const MAX_LOG_BYTES = 512 * 1024 ** 2;

/**
 * Downloads the log (admin identities only) as this device (`Conduit-Device`, which OIDC-mode
 * servers require) and checks it against the head the server states.
 */
export async function verifyAuditFromServer(
  serverUrl: string,
  token: string,
  deviceId: string,
): Promise<AuditVerification> {
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
  const head = /^(\d{1,15}) ([0-9a-f]{64})$/.exec(res.headers.get(AUDIT_HEAD_HEADER) ?? '');
  if (!head) throw new ConduitError('TRANSPORT', 'The server did not state the audit head.');
  return verifyAuditText(body, { seq: Number(head[1]), hash: head[2]! });
}
