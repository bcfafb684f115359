import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  KEY_TRANSITION_VERSION,
  keyTransitionSignedBytes,
  keyTransitionStatementText,
  parseKeyTransitionStatement,
} from './key-transition.js';
import type { KeyTransitionStatement } from './key-transition.js';

/** Known answers: packages/shared/vectors/key-transition-v1.json (docs/identity.md). */
interface Vector {
  name: string;
  input: Omit<KeyTransitionStatement, 'v'>;
  statement: string;
  signedSha256: string;
}
const { valid } = JSON.parse(
  readFileSync(new URL('../../vectors/key-transition-v1.json', import.meta.url), 'utf8'),
) as { valid: Vector[] };

describe('key-transition statement v1 (KAT)', () => {
  it.each(valid)('writes $name as the pinned text and signs the pinned bytes', ({ input, statement, signedSha256 }) => {
    expect(KEY_TRANSITION_VERSION).toBe(1);
    expect(keyTransitionStatementText(input)).toBe(statement);
    expect(createHash('sha256').update(keyTransitionSignedBytes(statement)).digest('hex')).toBe(signedSha256);
    expect(parseKeyTransitionStatement(statement)).toEqual({ v: KEY_TRANSITION_VERSION, ...input });
  });

  it('refuses another version or a malformed text', () => {
    const { statement } = valid[0]!;
    expect(parseKeyTransitionStatement(statement.replace('"v":1', '"v":2'))).toBeUndefined();
    expect(parseKeyTransitionStatement('{')).toBeUndefined();
  });
});
