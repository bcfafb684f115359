import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Identity } from './ids.js';
import { identityFromSubject, MAX_SUBJECT_LENGTH } from './identity-mapping.js';

/** Inverse of the escaped form (the hashed form is recognised by `_h`): the proof that it is injective. */
function decodeEscaped(identity: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < identity.length;) {
    if (identity[i] === '_') {
      expect(identity.slice(i + 1, i + 3)).toMatch(/^[0-9a-f]{2}$/);
      bytes.push(parseInt(identity.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(identity.charCodeAt(i));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const isHashed = (identity: string): boolean => /_[^0-9a-f]/.test(identity);

describe('identityFromSubject', () => {
  const long = 'x'.repeat(MAX_SUBJECT_LENGTH);
  it.each([
    ['jane@example.org', 'jane@example.org'],
    ['auth0|abc', 'auth0_7cabc'],
    ['auth0|64f1c0ffee0123456789abcd', 'auth0_7c64f1c0ffee0123456789abcd'],
    ['google-oauth2|1234', 'google-oauth2_7c1234'],
    ['jane+tag@example.org', 'jane+tag@example.org'],
    ['Jane@example.org', /^sub_h[a-z2-7]{52}$/],
    ['jAne', 'j_41ne'],
    ['auth0_7cabc', 'auth0_5f7cabc'], // looks like an encoded form: its `_` is escaped in turn
    ['a_hxyz', 'a_5fhxyz'], // looks like a hashed form
    ['-abc', /^sub_h[a-z2-7]{52}$/],
    ['élan', /^sub_h/],
    ['zoé', 'zo_c3_a9'],
    ['f47ac10b-58cc-4372-a567-0e02b2c3d479', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'],
    [long, /^xxxxxxxxxx_h[a-z2-7]{52}$/],
    ['auth0|' + 'a'.repeat(60), /^auth0_7caa_h[a-z2-7]{52}$/],
  ])('%s -> %s', (sub, expected) => {
    const identity = identityFromSubject(sub);
    if (typeof expected === 'string') expect(identity).toBe(expected);
    else expect(identity).toMatch(expected);
    expect(Identity.safeParse(identity).success).toBe(true);
  });

  it('keeps subjects that differ only in case apart, also lower-cased (case-insensitive file systems)', () => {
    const a = identityFromSubject('abc|Def');
    const b = identityFromSubject('abc|def');
    expect(a.toLowerCase()).not.toBe(b.toLowerCase());
  });

  it('refuses what is not a subject: empty, longer than 255, lone surrogates', () => {
    for (const sub of ['', long + 'x', 'ab\ud800c']) {
      expect(() => identityFromSubject(sub)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });

  const subjects = fc.oneof(
    fc.string({ minLength: 1, maxLength: MAX_SUBJECT_LENGTH, unit: 'grapheme' }),
    fc.string({ minLength: 1, maxLength: 80, unit: fc.constantFrom('a', 'A', '_', '|', '7', 'c', 'h', '.', '-', '@') }),
    fc.emailAddress(),
  );
  const valid = subjects.filter((s) => s.length <= MAX_SUBJECT_LENGTH);

  it('is total over valid subjects and always yields a valid, lower-case identity', () => {
    fc.assert(
      fc.property(valid, (sub) => {
        const identity = identityFromSubject(sub);
        expect(Identity.safeParse(identity).success).toBe(true);
        expect(identity).toBe(identity.toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });

  it('is injective: an escaped form decodes to its subject; distinct subjects never share an identity', () => {
    fc.assert(
      fc.property(valid, (sub) => {
        const identity = identityFromSubject(sub);
        if (!isHashed(identity)) expect(decodeEscaped(identity)).toBe(sub);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(valid, valid, (a, b) => {
        fc.pre(a !== b);
        expect(identityFromSubject(a)).not.toBe(identityFromSubject(b));
      }),
      { numRuns: 2000 },
    );
  });
});
