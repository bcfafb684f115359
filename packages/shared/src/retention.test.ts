import { describe, expect, it } from 'vitest';
import { FilesRetentionText, RecordsRetentionText, formatRetentionRule, parseRetentionRule } from './retention.js';

describe('retention rules', () => {
  it.each([
    ['keep', true, { kind: 'keep' }],
    ['12h', false, { kind: 'age', seconds: 12 * 3600 }],
    ['30d', false, { kind: 'age', seconds: 30 * 86_400 }],
    ['6y', false, { kind: 'age', seconds: 6 * 366 * 86_400 }],
    ['delivered+7d', true, { kind: 'delivered', graceSeconds: 7 * 86_400 }],
  ] as const)('%s parses', (text, allowDelivered, rule) => {
    expect(parseRetentionRule(text, allowDelivered)).toEqual(rule);
    expect(formatRetentionRule(rule)).toBe(text);
  });

  it.each(['', 'forever', '0d', '-1d', '1w', '1.5d', '1001y', 'delivered+', 'delivered+0h', ' 1d', '1D'])(
    'refuses %j',
    (text) => {
      expect(parseRetentionRule(text, true)).toBeNull();
      expect(FilesRetentionText.safeParse(text).success).toBe(false);
    },
  );

  it('allows delivered+ for files only', () => {
    expect(parseRetentionRule('delivered+1d', false)).toBeNull();
    expect(RecordsRetentionText.safeParse('delivered+1d').success).toBe(false);
    expect(FilesRetentionText.safeParse('delivered+1d').success).toBe(true);
  });

  it('formats with the largest whole unit', () => {
    expect(formatRetentionRule({ kind: 'age', seconds: 48 * 3600 })).toBe('2d');
    expect(formatRetentionRule({ kind: 'age', seconds: 366 * 86_400 })).toBe('1y');
    expect(formatRetentionRule({ kind: 'age', seconds: 365 * 86_400 })).toBe('365d');
  });
});
