/** Item error codes per object type, as Twilio gives them (the CDS paths the clients drive). */
import { describe, expect, it } from 'vitest';
import { SyncApiError } from './errors.js';
import { SyncStore } from './store.js';

function codeOf(fn: () => unknown): [number, number] {
  try {
    fn();
  } catch (err) {
    if (err instanceof SyncApiError) return [err.status, err.code];
    throw err;
  }
  throw new Error('expected a SyncApiError');
}

describe('SyncStore item errors', () => {
  it('answers a stale If-Match with the Map Item (54205) or List Item (54155) revision mismatch', () => {
    const store = new SyncStore();
    const map = store.create('map', { createdBy: 'system' });
    store.putMapItem(map, 'k', { n: 0 }, { createdBy: 'system' });
    store.putMapItem(map, 'k', { n: 1 }, { createdBy: 'system', ifMatch: '0' });
    expect(codeOf(() => store.putMapItem(map, 'k', { n: 2 }, { createdBy: 'system', ifMatch: '0' }))).toEqual([
      412, 54205,
    ]);
    expect(codeOf(() => store.putMapItem(map, 'k', { n: 2 }, { createdBy: 'system', ifMatch: '-1' }))).toEqual([
      412, 54205,
    ]);
    expect(codeOf(() => store.removeItem(map, 'k', '0'))).toEqual([412, 54205]);

    const list = store.create('list', { createdBy: 'system' });
    const item = store.pushListItem(list, { n: 0 }, { createdBy: 'system' });
    store.updateItem(list, item.key, { data: { n: 1 }, ifMatch: '0' });
    expect(codeOf(() => store.updateItem(list, item.key, { data: { n: 2 }, ifMatch: '0' }))).toEqual([412, 54155]);
    expect(codeOf(() => store.removeItem(list, item.key, '0'))).toEqual([412, 54155]);
  });

  it('answers absent or null data with Invalid Map Item data (54206) or Invalid List Item data (54156)', () => {
    const store = new SyncStore();
    const map = store.create('map', { createdBy: 'system' });
    expect(codeOf(() => store.putMapItem(map, 'k', undefined, { createdBy: 'system' }))).toEqual([400, 54206]);
    expect(codeOf(() => store.putMapItem(map, 'k', null, { createdBy: 'system' }))).toEqual([400, 54206]);
    const list = store.create('list', { createdBy: 'system' });
    expect(codeOf(() => store.pushListItem(list, undefined, { createdBy: 'system' }))).toEqual([400, 54156]);
    const item = store.pushListItem(list, { n: 0 }, { createdBy: 'system' });
    expect(codeOf(() => store.updateItem(list, item.key, { data: null }))).toEqual([400, 54156]);
    // Leaving data out of an update keeps it (a TTL-only change).
    expect(store.updateItem(list, item.key, { ttl: 60 }).data).toEqual({ n: 0 });
  });
});
