import { GENESIS_HASH, sha256Hex, verifyAuditText, type AuditPoint, type AuditRecord } from '@conduit/shared';
import { downloadAuditLog } from './verify.js';

/**
 * `conduit audit export`: the audit log as JSON Lines an auditor reads without knowing the chain
 * format (docs/lifecycle.md#proof-deletion-receipts-conduit-audit-verify-and-conduit-audit-export).
 * The whole log is verified first; an unverified log is never exported (AUDIT_CHAIN_BROKEN).
 */

/** From which record: a seq (inclusive), or a time (records whose entry `at` is not earlier). */
export type AuditSince = { seq: number } | { at: Date };

/** The first line of an export: what was verified, and what was selected. */
export interface AuditExportHeader {
  format: 'conduit-audit-export';
  v: 1;
  exportedAt: string;
  since: { seq: number } | { at: string };
  /** Retention anchor: records 1..base.seq were dropped before the export ({0, 64 zeros}: none). */
  base: AuditPoint;
  /** The verified head: the chain was checked from base.seq + 1 to head.seq. */
  head: AuditPoint;
  verified: number;
  /** Record lines that follow. */
  exported: number;
}

export interface AuditExport {
  header: AuditExportHeader;
  /** The JSON lines, header first. */
  lines: string[];
}

/** The fields every record line starts with; an entry's own field of the same name goes under `entry`. */
const RECORD_FIELDS = ['seq', 'at', 'type', 'hash', 'prev'] as const;

/** Verifies a log's text (against the head and anchor its source stated), then selects and flattens. */
export function buildAuditExport(
  text: string,
  since: AuditSince,
  stated: { head?: AuditPoint; base?: AuditPoint } = {},
  now = new Date(),
): AuditExport {
  const verification = verifyAuditText(text, stated.head, stated.base);
  const base = verification.base ?? { seq: 0, hash: GENESIS_HASH };
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const record = JSON.parse(line) as AuditRecord;
    const selected = 'seq' in since ? record.seq >= since.seq : Date.parse(record.entry.at) >= since.at.getTime();
    if (selected) lines.push(JSON.stringify(flatten(record, sha256Hex(line))));
  }
  const header: AuditExportHeader = {
    format: 'conduit-audit-export',
    v: 1,
    exportedAt: now.toISOString(),
    since: 'seq' in since ? { seq: since.seq } : { at: since.at.toISOString() },
    base,
    head: { seq: base.seq + verification.records, hash: verification.head },
    verified: verification.records,
    exported: lines.length,
  };
  return { header, lines: [JSON.stringify(header), ...lines] };
}

function flatten(record: AuditRecord, hash: string): Record<string, unknown> {
  const { type, at, ...fields } = record.entry;
  const own: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if ((RECORD_FIELDS as readonly string[]).includes(key) || key === 'entry') own[key] = value;
    else rest[key] = value;
  }
  return {
    seq: record.seq,
    at,
    type,
    hash,
    prev: record.prev,
    ...rest,
    ...(Object.keys(own).length > 0 ? { entry: own } : {}),
  };
}

/** Downloads the server's log (admin identities only), verifies it whole, exports from `since`. */
export async function exportAuditFromServer(
  serverUrl: string,
  token: string,
  deviceId: string,
  since: AuditSince,
): Promise<AuditExport> {
  const log = await downloadAuditLog(serverUrl, token, deviceId);
  return buildAuditExport(log.text, since, { head: log.head, base: log.base });
}
