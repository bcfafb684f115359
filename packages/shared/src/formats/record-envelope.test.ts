import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../errors.js';
import {
  checkRecordEnvelope,
  decodeRecordEnvelope,
  encodeRecordEnvelope,
  INLINE_PAD_BYTES,
  inlineValue,
  MAX_INLINE_VALUE_BYTES,
  MAX_INLINE_VALUE_BYTES_V1,
  RECORD_ENVELOPE_VERSION,
} from './record-envelope.js';
import type { RecordEnvelope, RecordEnvelopeV2, VersionClaim } from './record-envelope.js';

/** Known answers: packages/shared/vectors/record-envelope-v{1,2}.json (docs/format.md). */
interface Vector<E> {
  name: string;
  value: string | null;
  input: E;
  claim: VersionClaim;
  json: string;
  sha256: string;
}
const vectors = <E>(file: string): Vector<E>[] =>
  (JSON.parse(readFileSync(new URL(`../../vectors/${file}`, import.meta.url), 'utf8')) as { valid: Vector<E>[] }).valid;
const v1 = vectors<RecordEnvelope>('record-envelope-v1.json');
const v2 = vectors<RecordEnvelopeV2>('record-envelope-v2.json');
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConduitError ? err.code : 'untyped';
  }
  return undefined;
};
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('record envelope v2 plaintext (KAT)', () => {
  it.each(v2)('encodes $name to the pinned bytes', ({ value, input, json, sha256: digest }) => {
    expect(RECORD_ENVELOPE_VERSION).toBe(2);
    if (value !== null) expect(inlineValue(Buffer.from(value))).toBe(input.inline);
    const bytes = encodeRecordEnvelope(input);
    expect(bytes.toString('utf8')).toBe(json);
    expect(sha256(bytes)).toBe(digest);
  });

  it.each(v2)('decodes and checks $name against its claim', ({ input, claim, json }) => {
    const decoded = decodeRecordEnvelope(Buffer.from(json));
    expect(decoded).toEqual(input);
    expect(() => checkRecordEnvelope(claim, decoded)).not.toThrow();
    expect(codeOf(() => checkRecordEnvelope({ ...claim, deleted: !claim.deleted }, decoded))).toBe('INTEGRITY');
    expect(codeOf(() => checkRecordEnvelope({ ...claim, size: claim.size + 1 }, decoded))).toBe('INTEGRITY');
    // The server's objectId is null exactly when the envelope has no object.
    const otherObject = claim.objectId === null ? '0123456789abcdef0123456789abcdef' : null;
    expect(codeOf(() => checkRecordEnvelope({ ...claim, objectId: otherObject }, decoded))).toBe('INTEGRITY');
  });

  it('places a live value in exactly one of content and inline, a tombstone in neither', () => {
    const [inline, object, tombstone] = v2 as [
      Vector<RecordEnvelopeV2>,
      Vector<RecordEnvelopeV2>,
      Vector<RecordEnvelopeV2>,
    ];
    const both = { ...object.input, inline: inline.input.inline };
    const neither = { ...inline.input, inline: null };
    const deadWithValue = { ...tombstone.input, inline: inline.input.inline };
    for (const bad of [both, neither]) expect(codeOf(() => encodeRecordEnvelope(bad))).toBe('VALIDATION_FAILED');
    const check = (e: RecordEnvelopeV2, claim: VersionClaim) =>
      codeOf(() => checkRecordEnvelope(claim, decodeRecordEnvelope(Buffer.from(JSON.stringify(e)))));
    expect(check(both, object.claim)).toBe('INTEGRITY');
    expect(check(neither, inline.claim)).toBe('INTEGRITY');
    expect(check(deadWithValue, tombstone.claim)).toBe('INTEGRITY');
    const unpadded = { ...inline.input, inline: Buffer.from('{}').toString('base64') };
    expect(check(unpadded, inline.claim)).toBe('INTEGRITY');
  });

  it('inlines up to the limit asked for, padded, and never above 8 KiB', () => {
    expect(Buffer.from(inlineValue(Buffer.from('{}')) as string, 'base64').length).toBe(INLINE_PAD_BYTES);
    expect(Buffer.from(inlineValue(Buffer.alloc(300, 0x31)) as string, 'base64').length).toBe(2 * INLINE_PAD_BYTES);
    expect(inlineValue(Buffer.alloc(4097, 0x31))).toBeNull();
    expect(inlineValue(Buffer.alloc(4097, 0x31), 100)).toBeNull();
    expect(inlineValue(Buffer.alloc(100, 0x31), 99)).toBeNull();
    expect(inlineValue(Buffer.alloc(MAX_INLINE_VALUE_BYTES + 1, 0x31), 1 << 20)).toBeNull();
    // A maximal inline value with maximal plain fields fits; with escaped ones the writer uploads instead.
    const max = inlineValue(Buffer.alloc(MAX_INLINE_VALUE_BYTES, 0x31), MAX_INLINE_VALUE_BYTES);
    const sender = { identity: 'a'.repeat(64), deviceId: 'd'.repeat(64) };
    const big = { ...v2[0]!.input, sender, appKey: 'k'.repeat(256), inline: max };
    expect(encodeRecordEnvelope(big).length).toBeGreaterThan(11_500);
    expect(codeOf(() => encodeRecordEnvelope({ ...big, appKey: '"'.repeat(256) }))).toBe('VALIDATION_FAILED');
  });
});

describe('record envelope v1 plaintext (KAT, still read)', () => {
  it.each(v1)('decodes and checks $name against its claim', ({ value, input, claim, json, sha256: digest }) => {
    expect(sha256(Buffer.from(json))).toBe(digest);
    expect(inlineValue(Buffer.from(value as string), MAX_INLINE_VALUE_BYTES_V1)).toBe(input.inline);
    const decoded = decodeRecordEnvelope(Buffer.from(json));
    expect(decoded).toEqual(input);
    expect(() => checkRecordEnvelope(claim, decoded)).not.toThrow();
    expect(codeOf(() => checkRecordEnvelope({ ...claim, deleted: true }, decoded))).toBe('INTEGRITY');
    expect(codeOf(() => checkRecordEnvelope({ ...claim, size: claim.size + 1 }, decoded))).toBe('INTEGRITY');
  });
});

describe('record envelope version', () => {
  it('picks the format by kind and version first, then the strict schema', () => {
    const raw = JSON.parse(v2[0]!.json) as Record<string, unknown>;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
    expect(codeOf(() => decodeRecordEnvelope(encode({ ...raw, v: 3 })))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => decodeRecordEnvelope(encode({ ...raw, kind: 'file' })))).toBe('FORMAT_UNSUPPORTED');
    expect(codeOf(() => decodeRecordEnvelope(encode({ ...raw, extra: 1 })))).toBe('INTEGRITY');
    // A v2 body labelled v1 is held to v1's rules (an inline value needs its object there).
    expect(codeOf(() => checkRecordEnvelope(v2[0]!.claim, decodeRecordEnvelope(encode({ ...raw, v: 1 }))))).toBe(
      'INTEGRITY',
    );
  });
});
