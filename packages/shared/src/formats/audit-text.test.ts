import { createHash } from 'node:crypto';
import { ConduitError } from '../errors.js';
import { describe, expect, it } from 'vitest';
import { verifyAuditText } from './audit-chain.js';

/** Builds a chain the way the server's sealer does: line = {"entry":…,"prev":…,"seq":…}. */
function chain(n: number): string[] {
  const lines: string[] = [];
  let prev = '0'.repeat(64);
  for (let seq = 1; seq <= n; seq += 1) {
    const entry = `{"at":"2030-01-01T00:00:0${seq % 10}.000Z","n":${seq},"type":"deletion-receipt"}`;
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
    expect(failure(() => verifyAuditText(text([lines[1]!, lines[0]!, ...lines.slice(2)]))).details).toMatchObject({
      seq: 1,
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
