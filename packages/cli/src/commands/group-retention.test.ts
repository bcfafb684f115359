import { describe, expect, it } from 'vitest';
import { nextRetentionPolicy, retentionLines } from './group-retention.js';

describe('conduit group retention', () => {
  it('only shows without options', () => {
    expect(nextRetentionPolicy({ files: '2d' }, {})).toBeNull();
  });

  it('changes the named class and keeps the other one', () => {
    expect(nextRetentionPolicy({ files: '2d', records: '6y' }, { files: '30d' })).toEqual({
      files: '30d',
      records: '6y',
    });
    expect(nextRetentionPolicy({ files: '2d' }, { records: 'keep' })).toEqual({ files: '2d', records: 'keep' });
  });

  it('--clear starts from no rules of its own', () => {
    expect(nextRetentionPolicy({ files: '2d', records: '6y' }, { clear: true })).toEqual({});
    expect(nextRetentionPolicy({ files: '2d', records: '6y' }, { clear: true, records: '1y' })).toEqual({
      records: '1y',
    });
  });

  it('prints each class with its source', () => {
    const lines = retentionLines({
      groupId: 'a'.repeat(32),
      policy: { files: '30d' },
      effective: { files: { rule: '30d', source: 'group' }, records: { rule: 'keep', source: 'deployment' } },
    });
    expect(lines).toEqual(['files: 30d (group)', 'records: keep (deployment)']);
  });
});
