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

/** A chain position: record `seq` and the SHA-256 of its line ({0, GENESIS_HASH} before record 1). */
export interface AuditPoint {
  seq: number;
  hash: string;
}

/** What a whole log (as text, one record per line) proved. */
export interface AuditVerification {
  /** Records verified (base.seq + 1 .. base.seq + records). */
  records: number;
  head: string;
  /**
   * Present when the log starts after record 1: records 1..base.seq were dropped by audit
   * retention, as the log's own `audit-trimmed` record states; the chain was verified from there.
   */
  base?: AuditPoint;
  /** Present when the source stated its head (the server does): it matched. */
  expectedHead?: AuditPoint;
}

const broken = (seq: number, problem: string) =>
  new ConduitError('AUDIT_CHAIN_BROKEN', `Audit record ${seq}: ${problem}.`, { seq, problem });

/**
 * Throws AUDIT_CHAIN_BROKEN at the first bad record. A log may start after record 1 only at a
 * retention anchor (docs/format.md §12): the first record's `prev` and seq - 1 must be the
 * `throughHash` and `throughSeq` of an `audit-trimmed` record in the log, and equal `expectedBase`
 * when the source stated one (the server does, in Conduit-Audit-Base).
 */
export function verifyAuditText(text: string, expectedHead?: AuditPoint, expectedBase?: AuditPoint): AuditVerification {
  const lines = text.split('\n').filter((l, i, all) => l.length > 0 || i < all.length - 1);
  const base = anchorOf(lines[0], expectedBase);
  const check = verifyLines(lines, base.hash, base.seq + 1);
  if (!check.ok) throw broken(check.seq, check.problem);
  if (expectedBase && (expectedBase.seq !== base.seq || expectedBase.hash !== base.hash)) {
    throw broken(base.seq + 1, `the log does not start at the stated base ${expectedBase.seq}`);
  }
  if (base.seq > 0 && !lines.some((line) => statesAnchor(line, base))) {
    throw broken(base.seq + 1, 'the log starts after record 1 but no audit-trimmed record states that anchor');
  }
  const last = base.seq + check.records;
  const head = check.records > 0 ? check.head : base.hash;
  if (expectedHead && (expectedHead.seq !== last || expectedHead.hash !== head)) {
    throw broken(last, `the log ends before the stated head ${expectedHead.seq} (truncated)`);
  }
  return {
    records: check.records,
    head,
    ...(base.seq > 0 ? { base } : {}),
    ...(expectedHead ? { expectedHead } : {}),
  };
}

/** Where the log's first record says the chain resumes (genesis for record 1 or an unreadable line). */
function anchorOf(first: string | undefined, expectedBase: AuditPoint | undefined): AuditPoint {
  if (first === undefined) return expectedBase ?? { seq: 0, hash: GENESIS_HASH };
  try {
    const record = AuditRecord.safeParse(JSON.parse(first));
    if (record.success && record.data.seq > 1) return { seq: record.data.seq - 1, hash: record.data.prev };
  } catch {
    // verifyLines reports it
  }
  return { seq: 0, hash: GENESIS_HASH };
}

const statesAnchor = (line: string, base: AuditPoint): boolean => {
  if (!line.includes('"type":"audit-trimmed"')) return false;
  const entry = (JSON.parse(line) as AuditRecord).entry;
  return entry.type === 'audit-trimmed' && entry['throughSeq'] === base.seq && entry['throughHash'] === base.hash;
};
