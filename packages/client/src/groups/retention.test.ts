import { ConduitError } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { checkedRetentionPolicy } from './retention.js';

const refusal = (policy: unknown): ConduitError => {
  try {
    checkedRetentionPolicy(policy);
  } catch (err) {
    if (err instanceof ConduitError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(policy)}`);
};

describe('checkedRetentionPolicy', () => {
  it('passes valid policies through unchanged (the server stores them canonically)', () => {
    expect(checkedRetentionPolicy({})).toEqual({});
    expect(checkedRetentionPolicy({ files: 'delivered+48h', records: '6y' })).toEqual({
      files: 'delivered+48h',
      records: '6y',
    });
    expect(checkedRetentionPolicy({ records: 'keep' })).toEqual({ records: 'keep' });
  });

  it('refuses a malformed rule naming its class and the accepted forms', () => {
    const e = refusal({ files: '30x' });
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.message).toBe('Invalid files retention rule "30x": expected keep, <n>h|d|y or delivered+<n>h|d|y.');
    expect(refusal({ files: '7d', records: 'delivered+7d' }).message).toBe(
      'Invalid records retention rule "delivered+7d": expected keep or <n>h|d|y.',
    );
    expect(refusal({ files: '0d' }).code).toBe('VALIDATION_FAILED');
    expect(refusal({ files: '1001y' }).code).toBe('VALIDATION_FAILED');
  });

  it('names non-string values by type and cuts long strings short', () => {
    expect(refusal({ records: 30 }).message).toBe(
      'Invalid records retention rule (a number): expected keep or <n>h|d|y.',
    );
    expect(refusal({ files: 'x'.repeat(10_000) }).message).toContain(`"${'x'.repeat(40)}"`);
    expect(refusal({ files: 'x'.repeat(10_000) }).message.length).toBeLessThan(200);
  });

  it('refuses other classes and non-objects', () => {
    for (const bad of [{ audit: '1y' }, null, 'keep', []]) {
      const e = refusal(bad);
      expect(e.code).toBe('VALIDATION_FAILED');
      expect(e.message).toContain('only `files` and `records`');
    }
  });
});
