import { createHash } from 'node:crypto';
import { ConduitError } from './errors.js';
import type { Identity } from './ids.js';

/**
 * Identity mapping v1 (docs/identity.md, "OIDC subjects"): an identity provider's `sub` -> a
 * directory identity that fits everywhere an identity goes (Identity schema: 64 characters of
 * `[A-Za-z0-9._@+-]`, starting with a letter or digit) and never collides, not even on a
 * case-insensitive file system.
 *
 * 1. Escaped form: `a-z 0-9 . @ + -` stay; every other character (capitals and `_` included)
 *    becomes `_` and two lowercase hex digits per UTF-8 byte. Used when it starts with a lowercase
 *    letter or digit and fits in 64 characters. `_` is always followed by a hex digit here, so the
 *    escaped form decodes back to the subject: no two subjects share it.
 * 2. Hashed form, for every other subject: a readable head (the escaped form's first whole
 *    tokens, at most 10 characters, or `sub` when it would not start with a letter or digit),
 *    then `_h`, then the unpadded lowercase base32 of SHA-256(UTF-8 subject) (52 characters).
 *    `_h` never occurs in an escaped form, and the hash decides equality: two subjects share a
 *    hashed form only through a SHA-256 collision.
 *
 * The issuer is not part of the mapping: a deployment trusts one issuer (CONDUIT_OIDC_ISSUER).
 */
export const MAX_SUBJECT_LENGTH = 255;
const MAX_IDENTITY = 64;
const HEAD_MAX = 10;
const HASH_MARK = '_h';
const SAFE = /^[a-z0-9.@+-]$/;
/** In a `u` regex, paired surrogates are one code point: \p{Cs} only matches a lone half (no UTF-8 form). */
const LONE_SURROGATE = /\p{Cs}/u;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** The directory identity of `sub`; VALIDATION_FAILED for an empty, oversized or ill-formed subject. */
export function identityFromSubject(sub: string): Identity {
  if (sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH || LONE_SURROGATE.test(sub)) {
    throw new ConduitError('VALIDATION_FAILED', 'The token subject must be 1 to 255 well-formed characters.');
  }
  const tokens = escapeTokens(sub);
  const escaped = tokens.join('');
  if (escaped.length <= MAX_IDENTITY && /^[a-z0-9]/.test(escaped)) return escaped;
  return `${head(tokens)}${HASH_MARK}${base32(createHash('sha256').update(sub, 'utf8').digest())}`;
}

/** One token per safe character, one `_xx` per UTF-8 byte of any other. */
function escapeTokens(sub: string): string[] {
  const tokens: string[] = [];
  for (const char of sub) {
    if (SAFE.test(char)) tokens.push(char);
    else for (const byte of Buffer.from(char, 'utf8')) tokens.push(`_${byte.toString(16).padStart(2, '0')}`);
  }
  return tokens;
}

function head(tokens: string[]): string {
  let out = '';
  for (const token of tokens) {
    if (out.length + token.length > HEAD_MAX) break;
    out += token;
  }
  return /^[a-z0-9]/.test(out) ? out : 'sub';
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}
