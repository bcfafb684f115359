import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { envelopeSha256, receiptStatement } from './receipt.js';

/** Known answer: every implementation (and the server's docs) must produce exactly these bytes. */
const STATEMENT = {
  pointerId: '00112233445566778899aabbccddeeff',
  groupId: 'ffeeddccbbaa99887766554433221100',
  objectId: '0123456789abcdef0123456789abcdef',
  envelopeSha256: 'ab'.repeat(32),
  sender: { identity: 'alice', deviceId: 'alice-laptop' },
  receiver: { identity: 'bob', deviceId: 'bob-phone' },
};

describe('receipt statement', () => {
  it('is the versioned prefix and the fields, one per line, in a fixed order (KAT)', () => {
    const bytes = receiptStatement(STATEMENT);
    expect(bytes.toString('utf8')).toBe(
      [
        'conduit-receipt-v1',
        '00112233445566778899aabbccddeeff',
        'ffeeddccbbaa99887766554433221100',
        '0123456789abcdef0123456789abcdef',
        'ab'.repeat(32),
        'alice',
        'alice-laptop',
        'bob',
        'bob-phone',
      ].join('\n'),
    );
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      '47e6e4de8dfedbff882f3edb016908eea525ddb283d3f58c02cad17f57be38e0',
    );
  });

  it('encodes a missing object (record tombstone) as "-", and refuses line breaks', () => {
    expect(
      receiptStatement({ ...STATEMENT, objectId: null })
        .toString()
        .split('\n')[3],
    ).toBe('-');
    expect(() => receiptStatement({ ...STATEMENT, receiver: { identity: 'bob\nmallory', deviceId: 'x' } })).toThrow();
  });

  it('hashes the sealed envelope bytes, not their base64', () => {
    expect(envelopeSha256(Buffer.from('sealed').toString('base64'))).toBe(
      createHash('sha256').update('sealed').digest('hex'),
    );
  });
});
