import { createHash } from 'node:crypto';

/**
 * The audit chain's record format. Each stored line is the canonical JSON of
 * `{ entry, prev, seq }` (keys sorted, no whitespace): `seq` counts from 1, `prev` is the SHA-256
 * (hex) of the previous line (64 zeros for the first), `entry` is the event (metadata only).
 * Changing, removing or reordering any line breaks every later `prev`.
 */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditValue = string | number | boolean | null | AuditValue[] | { [key: string]: AuditValue };
export type AuditEntry = { type: string; at: string } & { [key: string]: AuditValue };

export interface AuditRecord {
  seq: number;
  prev: string;
  entry: AuditEntry;
}

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
 * Checks record lines in order: each is canonical JSON of {entry, prev, seq}, seq counts up by
 * one, prev is the SHA-256 of the line before (`startPrev` for the first: genesis from seq 1).
 */
export function verifyLines(lines: Iterable<string>, startPrev = GENESIS_HASH, startSeq = 1): ChainCheck {
  let prev = startPrev;
  let seq = startSeq - 1;
  let count = 0;
  for (const line of lines) {
    seq += 1;
    let record: AuditRecord;
    try {
      record = JSON.parse(line) as AuditRecord;
    } catch {
      return { ok: false, seq, problem: 'not JSON' };
    }
    if (canonicalJson(record as unknown as AuditValue) !== line) return { ok: false, seq, problem: 'not canonical' };
    if (record.seq !== seq) return { ok: false, seq, problem: `sequence ${String(record.seq)}` };
    if (record.prev !== prev) return { ok: false, seq, problem: 'previous hash mismatch' };
    prev = sha256Hex(line);
    count += 1;
  }
  return { ok: true, records: count, head: prev };
}
