import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConduitError } from '../errors.js';

/**
 * The audit chain's record format (docs/format.md §12). Each stored line is the canonical JSON of
 * `{ entry, prev, seq }` (keys sorted, no whitespace): `seq` counts from 1, `prev` is the SHA-256
 * (hex) of the previous line (GENESIS_HASH for the first), `entry` is the event (metadata only).
 * Changing, removing or reordering any line breaks every later `prev`. The server writes it
 * (audit sealer), `conduit audit verify` checks it: both use this module.
 */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditValue = string | number | boolean | null | AuditValue[] | { [key: string]: AuditValue };
export type AuditEntry = { type: string; at: string } & { [key: string]: AuditValue };

/** One parsed line (GET /v1/admin/audit serves them as NDJSON). */
export const AuditRecord = z.strictObject({
  seq: z.number().int().positive(),
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  entry: z.looseObject({ type: z.string().min(1).max(64), at: z.iso.datetime() }),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/** JSON with object keys sorted at every level: one byte string per value, so hashes are stable. */
export function canonicalJson(value: AuditValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as AuditValue)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error('audit values are integers only');
  return JSON.stringify(value);
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The stored line of record `seq` (its hash, sha256Hex(line), is the next record's `prev`). */
export const recordLine = (entry: AuditEntry, prev: string, seq: number): string => canonicalJson({ entry, prev, seq });

export type ChainCheck = { ok: true; records: number; head: string } | { ok: false; seq: number; problem: string };

/**
 * Checks record lines in order: each is an AuditRecord in canonical JSON, seq counts up by one,
 * prev is the SHA-256 of the line before (`startPrev` for the first: genesis from seq 1). Stops at
 * the first bad line; `problem` is a short human-readable reason.
 */
export function verifyLines(lines: Iterable<string>, startPrev = GENESIS_HASH, startSeq = 1): ChainCheck {
  let prev = startPrev;
  let seq = startSeq - 1;
  for (const line of lines) {
    seq += 1;
    const problem = lineProblem(line, seq, prev);
    if (problem !== undefined) return { ok: false, seq, problem };
    prev = sha256Hex(line);
  }
  return { ok: true, records: seq - startSeq + 1, head: prev };
}

function lineProblem(line: string, seq: number, prev: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  const record = AuditRecord.safeParse(parsed);
  if (!record.success) return 'not an audit record';
  if (!isCanonical(parsed as AuditValue, line)) return 'not canonical JSON';
  if (record.data.seq !== seq) return `out of sequence (${record.data.seq})`;
  if (record.data.prev !== prev) return 'previous-hash mismatch (a record was changed, removed or inserted)';
  return undefined;
}

/** A value the writer could not have produced (a non-integer number) is not canonical either. */
function isCanonical(value: AuditValue, line: string): boolean {
  try {
    return canonicalJson(value) === line;
  } catch {
    return false;
  }
}

/** What a whole log (as text, one record per line) proved. */
export interface AuditVerification {
  records: number;
  head: string;
  /** Present when the source stated its head (the server does): it matched. */
  expectedHead?: { seq: number; hash: string };
}

const broken = (seq: number, problem: string) =>
  new ConduitError('AUDIT_CHAIN_BROKEN', `Audit record ${seq}: ${problem}.`, { seq, problem });

/** Throws AUDIT_CHAIN_BROKEN at the first bad record. */
export function verifyAuditText(text: string, expectedHead?: { seq: number; hash: string }): AuditVerification {
  const lines = text.split('\n').filter((l, i, all) => l.length > 0 || i < all.length - 1);
  const check = verifyLines(lines);
  if (!check.ok) throw broken(check.seq, check.problem);
  if (expectedHead && (expectedHead.seq !== check.records || expectedHead.hash !== check.head)) {
    throw broken(check.records, `the log ends before the stated head ${expectedHead.seq} (truncated)`);
  }
  return { records: check.records, head: check.head, ...(expectedHead ? { expectedHead } : {}) };
}
