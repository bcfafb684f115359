import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, recordLine, sha256Hex, verifyLines } from './audit-chain.js';
import type { AuditEntry } from './audit-chain.js';

/** Known answers: packages/shared/vectors/audit-chain.json (docs/format.md §12). */
const { records, head } = JSON.parse(
  readFileSync(new URL('../../vectors/audit-chain.json', import.meta.url), 'utf8'),
) as { records: { entry: AuditEntry; line: string; sha256: string }[]; head: string };
const lines = records.map((r) => r.line);

describe('audit chain (KAT)', () => {
  it('writes each record as the pinned canonical line and hashes it', () => {
    let prev = GENESIS_HASH;
    records.forEach(({ entry, line, sha256 }, i) => {
      expect(recordLine(entry, prev, i + 1)).toBe(line);
      expect(sha256Hex(line)).toBe(sha256);
      prev = sha256;
    });
    expect(prev).toBe(head);
  });

  it('verifies the pinned chain and names the first bad record', () => {
    expect(verifyLines(lines)).toEqual({ ok: true, records: 3, head });
    expect(verifyLines(lines.slice(1), records[0]!.sha256, 2)).toEqual({ ok: true, records: 2, head });
    const changed = [lines[0]!.replace('"n":1', '"n":9'), ...lines.slice(1)];
    expect(verifyLines(changed)).toMatchObject({ ok: false, seq: 2 });
    expect(verifyLines([lines[1]!, lines[0]!])).toMatchObject({ ok: false, seq: 1 });
    const spaced = JSON.stringify(JSON.parse(lines[0]!), null, 1);
    expect(verifyLines([spaced])).toEqual({ ok: false, seq: 1, problem: 'not canonical JSON' });
    expect(verifyLines(['{'])).toEqual({ ok: false, seq: 1, problem: 'not JSON' });
  });

  it('refuses values the canonical form cannot carry', () => {
    expect(() => canonicalJson({ n: 1.5 })).toThrow();
    expect(verifyLines([lines[0]!.replace('"n":1', '"n":1.5')])).toMatchObject({
      ok: false,
      problem: 'not canonical JSON',
    });
  });
});
