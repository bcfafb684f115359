/**
 * JSON shapes of the CDS API as twilio-sync 4.0.1 reads them (SyncMapImpl / SyncListImpl
 * descriptors, item descriptors, subscription event payloads). Revisions are strings; event ids
 * are per-object increasing integers (the client compares them numerically).
 */
import type { Item, SyncEvent, SyncObject } from './store.js';

/** The client only uses host+path of these URLs, and always sends them back through Twilsock. */
const CDS_BASE = 'https://cds.us1.twilio.com';
const COLLECTION: Record<SyncObject['type'], string> = { map: 'Maps', list: 'Lists' };

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const objectUrl = (type: SyncObject['type'], sid: string): string => `${CDS_BASE}/v3/${COLLECTION[type]}/${sid}`;
const itemUrl = (type: SyncObject['type'], sid: string, key: string): string =>
  `${objectUrl(type, sid)}/Items/${encodeURIComponent(key)}`;

export function objectDescriptor(obj: SyncObject): Record<string, unknown> {
  const url = objectUrl(obj.type, obj.sid);
  return {
    sid: obj.sid,
    unique_name: obj.uniqueName,
    url,
    links: obj.type === 'list' ? { items: `${url}/Items`, context: `${url}/Context` } : { items: `${url}/Items` },
    revision: String(obj.revision),
    last_event_id: obj.lastEventId,
    date_created: obj.dateCreated.toISOString(),
    date_updated: obj.dateUpdated.toISOString(),
    date_expires: iso(obj.expiresAt),
    created_by: obj.createdBy,
  };
}

export function itemDescriptor(obj: SyncObject, item: Item): Record<string, unknown> {
  const common = {
    url: itemUrl(obj.type, obj.sid, item.key),
    revision: String(item.revision),
    last_event_id: item.lastEventId,
    data: item.data,
    date_created: item.dateCreated.toISOString(),
    date_updated: item.dateUpdated.toISOString(),
    date_expires: iso(item.expiresAt),
    created_by: item.createdBy,
  };
  return obj.type === 'map'
    ? { key: item.key, map_sid: obj.sid, ...common }
    : { index: item.index, list_sid: obj.sid, ...common };
}

export const NOTIFICATION_TYPE: Record<SyncObject['type'], string> = {
  map: 'com.twilio.rtd.cds.map',
  list: 'com.twilio.rtd.cds.list',
};
/** Subscription lifecycle and replayed events travel with this type (strictly ordered). */
export const SYNC_EVENT_TYPE = 'twilio.sync.event';

export function renderEvent(e: SyncEvent): { event_type: string; event: Record<string, unknown> } {
  const prefix = e.objectType;
  const event: Record<string, unknown> = {
    id: e.id,
    [`${prefix}_sid`]: e.objectSid,
    [`${prefix}_unique_name`]: e.objectUniqueName,
    [`${prefix}_revision`]: String(e.objectRevision),
    date_created: e.date.toISOString(),
  };
  if (e.kind === 'removed') return { event_type: `${prefix}_removed`, event };
  const item = e.item!;
  if (prefix === 'map') event.item_key = item.key;
  else event.item_index = item.index;
  event.item_url = itemUrl(e.objectType, e.objectSid, item.key);
  event.item_revision = String(item.revision);
  event.item_data = item.data;
  event.date_expires = iso(item.expiresAt);
  return { event_type: `${prefix}_${e.kind}`, event };
}
