import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../errors.js';
import {
  checkRecordEnvelope,
  decodeRecordEnvelope,
  encodeRecordEnvelope,
  inlineValue,
  RECORD_ENVELOPE_VERSION,
} from './record-envelope.js';
import type { RecordEnvelopeV1, VersionClaim } from './record-envelope.js';

/** Known answers: packages/shared/vectors/record-envelope-v1.json (docs/records.md). */
interface Vector {
  name: string;
  value: string;
  input: RecordEnvelopeV1;
  claim: VersionClaim;
  json: string;
  sha256: string;
}
const { valid } = JSON.parse(
  readFileSync(new URL('../../vectors/record-envelope-v1.json', import.meta.url), 'utf8'),
) as { valid: Vector[] };
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConduitError ? err.code : 'untyped';
  }
  return undefined;
};

describe('record envelope v1 plaintext (KAT)', () => {
  it.each(valid)('encodes $name to the pinned bytes', ({ value, input, json, sha256 }) => {
    expect(RECORD_ENVELOPE_VERSION).toBe(1);
    expect(inlineValue(Buffer.from(value))).toBe(input.inline);
    const bytes = encodeRecordEnvelope(input);
    expect(bytes.toString('utf8')).toBe(json);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha256);
  });

  it.each(valid)('decodes and checks $name against its claim', ({ input, claim, json }) => {
    const decoded = decodeRecordEnvelope(Buffer.from(json));
    expect(decoded).toEqual(input);
    expect(() => checkRecordEnvelope(claim, decoded)).not.toThrow();
    expect(codeOf(() => checkRecordEnvelope({ ...claim, deleted: true }, decoded))).toBe('INTEGRITY');
    expect(codeOf(() => checkRecordEnvelope({ ...claim, size: claim.size + 1 }, decoded))).toBe('INTEGRITY');
  });

  it('picks the format by kind and version first, then the strict schema', () => {
    const raw = JSON.parse(valid[0]!.json) as Record<string, unknown>;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
    expect(codeOf(() => decodeRecordEnvelope(encode({ ...raw, v: 2 })))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => decodeRecordEnvelope(encode({ ...raw, kind: 'file' })))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => decodeRecordEnvelope(encode({ ...raw, extra: 1 })))).toBe('INTEGRITY');
  });
});
