import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  API_PREFIX,
  AUDIT_HEAD_HEADER,
  AuditRecord,
  ConduitError,
  DEVICE_HEADER,
  errorFromBody,
} from '@conduit/shared';
import { networkError, readBounded } from '../api/http-client.js';

/**
 * `conduit audit verify`: checks the server's hash-chained audit log (docs/api.md, GET
 * /v1/admin/audit). Each line must be the canonical JSON (sorted keys) of {entry, prev, seq},
 * seq must count up from 1 and prev must be the SHA-256 of the line before (64 zeros first).
 */
const GENESIS = '0'.repeat(64);
/** The log is downloaded whole; 512 MiB is far beyond any realistic deployment's metadata. */
const MAX_LOG_BYTES = 512 * 1024 ** 2;

export interface AuditVerification {
  records: number;
  head: string;
  /** Present when the source stated its head (the server does): it matched. */
  expectedHead?: { seq: number; hash: string };
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k] as Json)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const broken = (seq: number, problem: string) =>
  new ConduitError('AUDIT_CHAIN_BROKEN', `Audit record ${seq}: ${problem}.`, { seq, problem });

/** Throws AUDIT_CHAIN_BROKEN at the first bad record. */
export function verifyAuditText(text: string, expectedHead?: { seq: number; hash: string }): AuditVerification {
  const lines = text.split('\n').filter((l, i, all) => l.length > 0 || i < all.length - 1);
  let prev = GENESIS;
  let seq = 0;
  for (const line of lines) {
    seq += 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw broken(seq, 'not JSON');
    }
    const record = AuditRecord.safeParse(parsed);
    if (!record.success) throw broken(seq, 'not an audit record');
    if (canonical(parsed as Json) !== line) throw broken(seq, 'not canonical JSON');
    if (record.data.seq !== seq) throw broken(seq, `out of sequence (${record.data.seq})`);
    if (record.data.prev !== prev)
      throw broken(seq, 'previous-hash mismatch (a record was changed, removed or inserted)');
    prev = createHash('sha256').update(line, 'utf8').digest('hex');
  }
  if (expectedHead && (expectedHead.seq !== seq || expectedHead.hash !== prev)) {
    throw broken(seq, `the log ends before the stated head ${expectedHead.seq} (truncated)`);
  }
  return { records: seq, head: prev, ...(expectedHead ? { expectedHead } : {}) };
}

export async function verifyAuditFile(path: string): Promise<AuditVerification> {
  return verifyAuditText(await readFile(path, 'utf8'));
}

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
