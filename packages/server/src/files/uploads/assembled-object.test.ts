import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isAssembledFrom, multipartETag } from './assembled-object.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const parts = [randomBytes(64), randomBytes(32)].map((b) => ({ etag: `"${md5(b)}"` }));
// S3's documented composite: MD5 of the concatenated binary part MD5s, then "-<count>".
const composite = `${md5(Buffer.concat(parts.map((p) => Buffer.from(p.etag.slice(1, -1), 'hex'))))}-2`;

describe('multipartETag', () => {
  it('is what S3 answers for an object assembled from the parts', () => {
    expect(multipartETag(parts)).toBe(composite);
  });

  it('is null when a part ETag is not an MD5', () => {
    expect(multipartETag([{ etag: '"not-an-md5"' }])).toBeNull();
  });
});

describe('isAssembledFrom', () => {
  const expected = { size: 96, parts };

  it('accepts the right size with the matching composite ETag (S3)', () => {
    expect(isAssembledFrom({ size: 96, etag: `"${composite}"` }, expected)).toBe(true);
  });

  it('accepts the right size when the store gives a whole-object MD5 (s3rver) or no ETag', () => {
    expect(isAssembledFrom({ size: 96, etag: `"${md5(randomBytes(96))}"` }, expected)).toBe(true);
    expect(isAssembledFrom({ size: 96 }, expected)).toBe(true);
  });

  it('refuses an absent object, another size, or a composite of other parts', () => {
    expect(isAssembledFrom(null, expected)).toBe(false);
    expect(isAssembledFrom({ size: 95, etag: `"${composite}"` }, expected)).toBe(false);
    expect(isAssembledFrom({ size: 96, etag: `"${md5(randomBytes(8))}-2"` }, expected)).toBe(false);
  });
});
