import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../errors.js';
import { parseAnyPointer, parsePointer, POINTER_VERSION, serializePointer } from './pointer.js';

/** Known answers: packages/shared/vectors/pointer-v1.json (docs/format.md §13). */
interface Vectors {
  valid: { name: string; input: unknown; json: string; sha256: string }[];
  invalid: { name: string; input: unknown; error: string; fileOnly?: boolean }[];
}
const vectors = JSON.parse(readFileSync(new URL('../../vectors/pointer-v1.json', import.meta.url), 'utf8')) as Vectors;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConduitError ? err.code : 'untyped';
  }
  return undefined;
};

describe('pointer v1 (KAT)', () => {
  it.each(vectors.valid)(
    'serializes $name to the pinned bytes and parses them back',
    ({ input, json, sha256: digest }) => {
      expect(POINTER_VERSION).toBe(1);
      expect(serializePointer(input as Parameters<typeof serializePointer>[0])).toBe(json);
      expect(sha256(json)).toBe(digest);
      expect(parseAnyPointer(JSON.parse(json))).toEqual(input);
    },
  );

  it('parses a file pointer with either parser; a record pointer only as any pointer', () => {
    const [file, record] = vectors.valid;
    expect(parsePointer(file!.input)).toEqual(file!.input);
    expect(parseAnyPointer(record!.input)).toEqual(record!.input);
  });

  it.each(vectors.invalid)('refuses $name with $error', ({ input, error, fileOnly }) => {
    expect(codeOf(() => parsePointer(input))).toBe(error);
    if (!fileOnly) expect(codeOf(() => parseAnyPointer(input))).toBe(error);
  });
});
