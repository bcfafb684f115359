import { createHash } from 'node:crypto';
import { ConduitError } from '../errors.js';
import { describe, expect, it } from 'vitest';
import { verifyAuditText } from './audit-chain.js';

/** Builds a chain the way the server's sealer does: line = {"entry":…,"prev":…,"seq":…}. */
function chain(n: number, entryOf: (seq: number, lines: string[]) => string | undefined = () => undefined): string[] {
  const lines: string[] = [];
  let prev = '0'.repeat(64);
  for (let seq = 1; seq <= n; seq += 1) {
    const entry =
      entryOf(seq, lines) ?? `{"at":"2030-01-01T00:00:0${seq % 10}.000Z","n":${seq},"type":"deletion-receipt"}`;
    const line = `{"entry":${entry},"prev":"${prev}","seq":${seq}}`;
    lines.push(line);
    prev = createHash('sha256').update(line).digest('hex');
  }
  return lines;
}

const failure = (fn: () => unknown): ConduitError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConduitError) return err;
    throw err;
  }
  throw new Error('expected a failure');
};

describe('verifyAuditText', () => {
  it('accepts an intact chain and reports its head', () => {
    const lines = chain(5);
    const head = createHash('sha256').update(lines[4]!).digest('hex');
    expect(verifyAuditText(`${lines.join('\n')}\n`, { seq: 5, hash: head })).toMatchObject({ records: 5, head });
    expect(verifyAuditText('')).toMatchObject({ records: 0 });
  });

  it('rejects a changed, removed, reordered, re-serialized or truncated record', () => {
    const lines = chain(5);
    const text = (l: string[]) => `${l.join('\n')}\n`;
    const changed = [...lines];
    changed[1] = changed[1]!.replace('"n":2', '"n":7');
    expect(failure(() => verifyAuditText(text(changed))).details).toMatchObject({ seq: 3 });
    expect(failure(() => verifyAuditText(text(lines.filter((_, i) => i !== 2)))).code).toBe('AUDIT_CHAIN_BROKEN');
    // Record 2 first reads as a log resuming after record 1; record 1 then breaks the sequence.
    expect(failure(() => verifyAuditText(text([lines[1]!, lines[0]!, ...lines.slice(2)]))).details).toMatchObject({
      seq: 3,
    });
    const spaced = [...lines];
    spaced[0] = JSON.stringify(JSON.parse(spaced[0]!), null, 1).replace(/\n/g, '');
    expect(failure(() => verifyAuditText(text(spaced))).details).toMatchObject({ problem: 'not canonical JSON' });
    const head = createHash('sha256').update(lines[4]!).digest('hex');
    expect(failure(() => verifyAuditText(text(lines.slice(0, 4)), { seq: 5, hash: head })).code).toBe(
      'AUDIT_CHAIN_BROKEN',
    );
  });
});

const sha256 = (line: string) => createHash('sha256').update(line).digest('hex');

describe('verifyAuditText from a retention anchor', () => {
  /** Records 1..3, then record 4 stating that 1..2 were trimmed (as audit retention appends it). */
  const trimmed = (throughSeq = 2) =>
    chain(5, (seq, lines) =>
      seq === 4
        ? `{"at":"2030-01-02T00:00:00.000Z","count":${throughSeq},"rule":"1d","throughHash":"${sha256(lines[throughSeq - 1]!)}","throughSeq":${throughSeq},"type":"audit-trimmed"}`
        : undefined,
    );

  it('verifies a log that starts after the anchor its audit-trimmed record states', () => {
    const lines = trimmed();
    const kept = `${lines.slice(2).join('\n')}\n`;
    const base = { seq: 2, hash: sha256(lines[1]!) };
    const head = { seq: 5, hash: sha256(lines[4]!) };
    expect(verifyAuditText(kept, head, base)).toEqual({ records: 3, head: head.hash, base, expectedHead: head });
    expect(verifyAuditText(kept)).toEqual({ records: 3, head: head.hash, base });
    // The whole log, from record 1, still verifies (and has no base).
    expect(verifyAuditText(lines.join('\n'))).toEqual({ records: 5, head: head.hash });
  });

  it('refuses a start no audit-trimmed record states, and a start other than the stated base', () => {
    const lines = trimmed();
    expect(failure(() => verifyAuditText(lines.slice(3).join('\n'))).details).toMatchObject({
      seq: 4,
      problem: 'the log starts after record 1 but no audit-trimmed record states that anchor',
    });
    expect(failure(() => verifyAuditText(chain(5).slice(2).join('\n'))).code).toBe('AUDIT_CHAIN_BROKEN');
    const kept = lines.slice(2).join('\n');
    expect(failure(() => verifyAuditText(kept, undefined, { seq: 0, hash: '0'.repeat(64) })).details).toMatchObject({
      problem: 'the log does not start at the stated base 0',
    });
    // Retention always leaves its audit-trimmed record: a log empty after a stated anchor proves nothing.
    const base = { seq: 2, hash: sha256(lines[1]!) };
    expect(failure(() => verifyAuditText('', base, base)).code).toBe('AUDIT_CHAIN_BROKEN');
  });
});
