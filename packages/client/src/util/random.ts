/**
 * Cryptographically secure random bytes from the Web Crypto API, which Node (19+) and browsers
 * both provide as `globalThis.crypto`: no platform port needed.
 */
const MAX_PER_CALL = 65_536; // getRandomValues refuses larger requests

export function randomBytes(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += MAX_PER_CALL) {
    crypto.getRandomValues(out.subarray(at, Math.min(length, at + MAX_PER_CALL)));
  }
  return out;
}
