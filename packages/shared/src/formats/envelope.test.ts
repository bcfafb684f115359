import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../errors.js';
import { checkEnvelope, decodeEnvelope, encodeEnvelope, ENVELOPE_VERSION } from './envelope.js';
import type { EnvelopeInput } from './envelope.js';
import type { PointerV1 } from './pointer.js';

/** Known answers: packages/shared/vectors/envelope-v3.json (docs/format.md §10). */
interface Vector {
  name: string;
  input: Omit<EnvelopeInput, 'contentKey' | 'header'> & { contentKey: string; header: string };
  pointer: PointerV1;
  json: string;
  sha256: string;
}
const { valid } = JSON.parse(readFileSync(new URL('../../vectors/envelope-v3.json', import.meta.url), 'utf8')) as {
  valid: Vector[];
};
const hex = (value: string) => Buffer.from(value, 'hex');
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConduitError ? err.code : 'untyped';
  }
  return undefined;
};

describe('sealed envelope v3 plaintext (KAT)', () => {
  it.each(valid)('encodes $name to the pinned bytes', ({ input, json, sha256 }) => {
    expect(ENVELOPE_VERSION).toBe(3);
    const bytes = encodeEnvelope({ ...input, contentKey: hex(input.contentKey), header: hex(input.header) });
    expect(bytes.toString('utf8')).toBe(json);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha256);
  });

  it.each(valid)('decodes and checks $name against its pointer', ({ input, pointer, json }) => {
    const opened = checkEnvelope(pointer, decodeEnvelope(Buffer.from(json)));
    expect(opened.contentKey).toEqual(hex(input.contentKey));
    expect(opened.headerDigest).toEqual(createHash('sha256').update(hex(input.header)).digest());
    expect(opened.file).toEqual({ ...input.file, size: input.plainLength });
  });

  it('picks the format by version first, then the strict schema', () => {
    const { json, pointer } = valid[0]!;
    const raw = JSON.parse(json) as Record<string, unknown>;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
    expect(codeOf(() => decodeEnvelope(encode({ ...raw, v: 2 })))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => decodeEnvelope(encode({ ...raw, extra: 1 })))).toBe('INTEGRITY');
    expect(codeOf(() => decodeEnvelope(Buffer.from('{')))).toBe('INTEGRITY');
    const decoded = decodeEnvelope(Buffer.from(json));
    expect(codeOf(() => checkEnvelope({ ...pointer, size: pointer.size + 1 }, decoded))).toBe('INTEGRITY');
    const other = { ...pointer, sender: { ...pointer.sender, deviceId: 'another-device' } };
    expect(codeOf(() => checkEnvelope(other, decoded))).toBe('SENDER_MISMATCH');
  });
});
