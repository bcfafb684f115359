// Generates container-v1.json: known-answer vectors for docs/format.md (container v1).
//
// This is an independent implementation of the spec (WebCrypto HKDF + AES-GCM, written from
// docs/format.md, sharing no code with src/formats/container), so the vectors check the implementation
// against the document rather than against itself. The committed JSON is the reference: the test
// (src/formats/container/vectors.test.ts) only reads it. Regenerate only for a deliberate format change:
//
//   node packages/shared/vectors/generate-container-v1.mjs > packages/shared/vectors/container-v1.json
//   npx prettier --write packages/shared/vectors/container-v1.json
import { Buffer } from 'node:buffer';
import { createHash, webcrypto } from 'node:crypto';
import process from 'node:process';

const { subtle } = webcrypto;
const TAG = 16;
const label = Buffer.from('conduit/container/v1', 'ascii');
const hex = (b) => Buffer.from(b).toString('hex');
const range = (n, f) => Buffer.from(Array.from({ length: n }, (_, i) => f(i)));

const KEY_A = range(32, (i) => i); // 00 01 .. 1f
const SALT_A = range(32, (i) => 0xa0 + i); // a0 a1 .. bf
const KEY_B = range(32, (i) => 0xff - i);
const SALT_B = range(32, (i) => (i * 37 + 11) & 0xff);

/** Plaintext byte i is i mod 251 (a prime, so the pattern never lines up with segment boundaries). */
const plaintextOf = (length) => {
  const p = Buffer.alloc(length);
  for (let i = 0; i < length; i++) p[i] = i % 251;
  return p;
};

function header(segmentSize, salt, { magic = 'CNDT', version = 1, alg = 1 } = {}) {
  const h = Buffer.alloc(42);
  h.write(magic, 0, 'ascii');
  h[4] = version;
  h[5] = alg;
  h.writeUInt32BE(segmentSize, 6);
  Buffer.from(salt).copy(h, 10);
  return h;
}

async function derive(contentKey, hdr) {
  const ikm = await subtle.importKey('raw', contentKey, 'HKDF', false, ['deriveBits']);
  const info = Buffer.concat([label, hdr.subarray(0, 10)]);
  const okm = Buffer.from(
    await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: hdr.subarray(10), info }, ikm, 39 * 8),
  );
  return { subkey: okm.subarray(0, 32), noncePrefix: okm.subarray(32) };
}

async function seal(subkey, noncePrefix, hdr, index, last, plaintext) {
  const key = await subtle.importKey('raw', subkey, 'AES-GCM', false, ['encrypt']);
  const nonce = Buffer.alloc(12);
  noncePrefix.copy(nonce);
  nonce.writeUInt32BE(index, 7);
  nonce[11] = last ? 1 : 0;
  const out = await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: hdr, tagLength: 128 }, key, plaintext);
  return Buffer.from(out);
}

/** Encrypts per the spec; `lastFlagOverride` builds a deliberately malformed object for negative vectors. */
async function encrypt({ contentKey, salt, segmentSize, plainLength, paddedLength = plainLength, lastFlagOverride }) {
  const hdr = header(segmentSize, salt);
  const { subkey, noncePrefix } = await derive(contentKey, hdr);
  const stream = Buffer.alloc(paddedLength);
  plaintextOf(plainLength).copy(stream);
  const count = Math.max(1, Math.ceil(paddedLength / segmentSize));
  const parts = [hdr];
  const tags = [];
  for (let i = 0; i < count; i++) {
    const last = lastFlagOverride ?? i === count - 1;
    const seg = await seal(subkey, noncePrefix, hdr, i, last, stream.subarray(i * segmentSize, (i + 1) * segmentSize));
    parts.push(seg);
    tags.push(hex(seg.subarray(seg.length - TAG)));
  }
  return { hdr, subkey, noncePrefix, ciphertext: Buffer.concat(parts), tags };
}

async function valid(name, params) {
  const { paddedLength = params.plainLength } = params;
  const { hdr, subkey, noncePrefix, ciphertext, tags } = await encrypt(params);
  return {
    name,
    contentKey: hex(params.contentKey),
    salt: hex(params.salt),
    segmentSize: params.segmentSize,
    plainLength: params.plainLength,
    paddedLength,
    header: hex(hdr),
    headerDigest: createHash('sha256').update(hdr).digest('hex'),
    subkey: hex(subkey),
    noncePrefix: hex(noncePrefix),
    ciphertextLength: ciphertext.length,
    ciphertextSha256: createHash('sha256').update(ciphertext).digest('hex'),
    tags,
    ...(ciphertext.length <= 1024 ? { ciphertext: hex(ciphertext) } : {}),
  };
}

const K64 = 64 * 1024;
const A = { contentKey: KEY_A, salt: SALT_A };
const vectors = [
  await valid('empty', { ...A, segmentSize: K64, plainLength: 0 }),
  await valid('one byte', { ...A, segmentSize: K64, plainLength: 1 }),
  await valid('short', { ...A, segmentSize: K64, plainLength: 100 }),
  await valid('other key and salt', { contentKey: KEY_B, salt: SALT_B, segmentSize: K64, plainLength: 100 }),
  await valid('segment minus one', { ...A, segmentSize: K64, plainLength: K64 - 1 }),
  await valid('exactly one segment', { ...A, segmentSize: K64, plainLength: K64 }),
  await valid('segment plus one', { ...A, segmentSize: K64, plainLength: K64 + 1 }),
  await valid('three segments and a tail', { ...A, segmentSize: K64, plainLength: 3 * K64 + 17 }),
  await valid('non power of two segment size', { ...A, segmentSize: 100_000, plainLength: 250_000 }),
  await valid('default 1 MiB segments', { ...A, segmentSize: 1024 * 1024, plainLength: 1024 * 1024 + 5 }),
  await valid('max segment size', { ...A, segmentSize: 8 * 1024 * 1024, plainLength: 10 }),
  await valid('padded short (padme(100) = 104)', { ...A, segmentSize: K64, plainLength: 100, paddedLength: 104 }),
  await valid('padded across a segment (padme(70000) = 71680)', {
    ...A,
    segmentSize: K64,
    plainLength: 70_000,
    paddedLength: 71_680,
  }),
];

const small = { ...A, segmentSize: K64, plainLength: 5 };
const good = (await encrypt(small)).ciphertext;
const invalid = [
  { name: 'final segment sealed with last flag 0', ...(await encrypt({ ...small, lastFlagOverride: false })) },
  { name: 'tag truncated by one byte', ciphertext: good.subarray(0, good.length - 1) },
  { name: 'version 2', ciphertext: Buffer.concat([header(K64, SALT_A, { version: 2 }), good.subarray(42)]) },
  { name: 'unknown magic', ciphertext: Buffer.concat([header(K64, SALT_A, { magic: 'CNDU' }), good.subarray(42)]) },
  { name: 'unknown algorithm', ciphertext: Buffer.concat([header(K64, SALT_A, { alg: 2 }), good.subarray(42)]) },
  { name: 'salt edited', ciphertext: Buffer.concat([header(K64, SALT_B), good.subarray(42)]) },
  { name: 'segment size edited', ciphertext: Buffer.concat([header(K64 + 1, SALT_A), good.subarray(42)]) },
].map(({ name, ciphertext }) => ({
  name,
  contentKey: hex(KEY_A),
  plainLength: 5,
  ciphertext: hex(ciphertext),
  error: /version|magic|algorithm/.test(name) ? 'FORMAT_UNSUPPORTED' : 'INTEGRITY',
}));

process.stdout.write(
  JSON.stringify(
    {
      format: 'conduit container v1 (docs/format.md)',
      plaintext: 'byte i of the plaintext is i mod 251; bytes from plainLength to paddedLength are zero',
      valid: vectors,
      invalid,
    },
    null,
    2,
  ) + '\n',
);
