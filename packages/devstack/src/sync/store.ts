/**
 * In-memory Sync state: Maps and Lists, their items, per-object event logs (for subscription
 * replay) and per-identity permissions. Wire formats live in the route modules; this module only
 * enforces Sync's rules (sizes, revisions, If-Match, TTL, uniqueness) and bounds.
 */
import { randomBytes } from 'node:crypto';
import { badRequest, conflict, missingData, notFound, revisionMismatch, SyncApiError, tooLarge } from './errors.js';

export type ObjectType = 'map' | 'list';

export interface Permissions {
  read: boolean;
  write: boolean;
  manage: boolean;
}

export interface Item {
  /** Map key, or the decimal list index. */
  key: string;
  index: number;
  data: Record<string, unknown>;
  revision: number;
  lastEventId: number;
  dateCreated: Date;
  dateUpdated: Date;
  expiresAt: number | null;
  createdBy: string;
}

export interface SyncObject {
  type: ObjectType;
  sid: string;
  uniqueName: string | null;
  items: Map<string, Item>;
  nextIndex: number;
  lastEventId: number;
  revision: number;
  dateCreated: Date;
  dateUpdated: Date;
  expiresAt: number | null;
  createdBy: string;
  events: SyncEvent[];
  permissions: Map<string, Permissions>;
}

export type EventKind = 'item_added' | 'item_updated' | 'item_removed' | 'removed';

export interface SyncEvent {
  id: number;
  kind: EventKind;
  objectType: ObjectType;
  objectSid: string;
  objectUniqueName: string | null;
  objectRevision: number;
  item?: { key: string; index: number; revision: number; data: Record<string, unknown>; expiresAt: number | null };
  date: Date;
}

export interface ItemQuery {
  order: 'asc' | 'desc';
  from?: string;
  /** Start after `from` instead of at it (page tokens). */
  exclusive?: boolean;
  limit: number;
}

export interface ItemPage {
  items: Item[];
  hasPrevious: boolean;
  hasNext: boolean;
}

export const MAX_ITEM_DATA_BYTES = 16 * 1024;
export const MAX_TTL_SECONDS = 31_536_000;
const MAX_OBJECTS = 10_000;
const MAX_ITEMS_PER_OBJECT = 10_000;
const MAX_PERMISSIONS_PER_OBJECT = 1_000;
/** Events kept per object for replay to resubscribing clients. */
const EVENT_LOG_LENGTH = 1_000;

const SID_PREFIX: Record<ObjectType, string> = { map: 'MP', list: 'ES' };

export function validateName(value: string, what: string): string {
  if (value.length === 0 || value.length > 320 || /\p{Cc}/u.test(value)) throw badRequest(`Invalid ${what}`, 54209);
  return value;
}

export function validateTtl(ttl: unknown): number | undefined {
  if (ttl === undefined || ttl === null || ttl === '') return undefined;
  const n = typeof ttl === 'string' ? Number(ttl) : ttl;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_TTL_SECONDS) {
    throw badRequest('Invalid TTL', 54011);
  }
  return n;
}

/** Item data is present and a JSON object of at most 16 KiB serialized. */
export function validateData(data: unknown, type: ObjectType): Record<string, unknown> {
  if (data === undefined || data === null) throw missingData(type);
  if (typeof data !== 'object' || Array.isArray(data)) throw badRequest('Item data must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_ITEM_DATA_BYTES) throw tooLarge();
  return data as Record<string, unknown>;
}

const expiry = (ttl: number | undefined, now: number): number | null | undefined =>
  ttl === undefined ? undefined : ttl === 0 ? null : now + ttl * 1000;

export interface StoreHooks {
  /** Called before every data write against an object (rate limiting); throws to refuse it. */
  beforeWrite?: (objectSid: string) => void;
  /** Receives every event after it is recorded. */
  onEvent?: (event: SyncEvent) => void;
  /** Called after every change to the state, events or not (persistence). */
  onChange?: () => void;
}

export class SyncStore {
  private readonly bySid = new Map<string, SyncObject>();
  private readonly byName: Record<ObjectType, Map<string, SyncObject>> = { map: new Map(), list: new Map() };

  constructor(private readonly hooks: StoreHooks = {}) {}

  create(type: ObjectType, opts: { uniqueName?: string; ttl?: number; createdBy: string }): SyncObject {
    if (this.bySid.size >= MAX_OBJECTS) throw new SyncApiError(429, 54009, 'Too many Sync objects in this emulator');
    const uniqueName = opts.uniqueName === undefined ? null : validateName(opts.uniqueName, 'unique name');
    if (uniqueName !== null && /^(MP|ES)[0-9a-f]{32}$/.test(uniqueName))
      throw badRequest('Unique name looks like a SID');
    if (uniqueName !== null && this.byName[type].has(uniqueName)) {
      throw conflict('Unique name already exists', 54301);
    }
    const now = new Date();
    const obj: SyncObject = {
      type,
      sid: `${SID_PREFIX[type]}${randomBytes(16).toString('hex')}`,
      uniqueName,
      items: new Map(),
      nextIndex: 0,
      lastEventId: 0,
      revision: 0,
      dateCreated: now,
      dateUpdated: now,
      expiresAt: expiry(opts.ttl, now.getTime()) ?? null,
      createdBy: opts.createdBy,
      events: [],
      permissions: new Map(),
    };
    this.bySid.set(obj.sid, obj);
    if (uniqueName !== null) this.byName[type].set(uniqueName, obj);
    this.hooks.onChange?.();
    return obj;
  }

  /** Every object, for a snapshot of the whole state. */
  all(): SyncObject[] {
    return [...this.bySid.values()];
  }

  /** Puts back objects from a snapshot; only into an empty store (startup). */
  restore(objects: readonly SyncObject[]): void {
    if (this.bySid.size > 0) throw new Error('restore needs an empty store');
    for (const obj of objects.slice(0, MAX_OBJECTS)) {
      this.bySid.set(obj.sid, obj);
      if (obj.uniqueName !== null) this.byName[obj.type].set(obj.uniqueName, obj);
    }
  }

  find(type: ObjectType, sidOrName: string): SyncObject | undefined {
    const bySid = this.bySid.get(sidOrName);
    if (bySid) return bySid.type === type ? bySid : undefined;
    return this.byName[type].get(sidOrName);
  }

  get(type: ObjectType, sidOrName: string, notFoundCode: number): SyncObject {
    const obj = this.find(type, sidOrName);
    if (!obj) throw notFound(`${type} ${sidOrName.slice(0, 64)}`, notFoundCode);
    return obj;
  }

  /** Objects of one type ordered by SID (REST listings). */
  list(type: ObjectType): SyncObject[] {
    return [...this.bySid.values()].filter((o) => o.type === type).sort((a, b) => (a.sid < b.sid ? -1 : 1));
  }

  findBySid(sid: string): SyncObject | undefined {
    return this.bySid.get(sid);
  }

  remove(obj: SyncObject): void {
    this.hooks.beforeWrite?.(obj.sid);
    this.bySid.delete(obj.sid);
    if (obj.uniqueName !== null) this.byName[obj.type].delete(obj.uniqueName);
    this.record(obj, 'removed');
  }

  setTtl(obj: SyncObject, ttl: number): void {
    this.hooks.beforeWrite?.(obj.sid);
    obj.expiresAt = expiry(ttl, Date.now()) ?? null;
    this.hooks.onChange?.();
  }

  /**
   * Writes a map item. `ifMatch` '-1' means create-only; another value must equal the current
   * revision. `mustExist` / `mustNotExist` express the REST update / create semantics.
   */
  putMapItem(
    obj: SyncObject,
    key: string,
    data: unknown,
    opts: { ttl?: number; ifMatch?: string; createdBy: string; mustExist?: boolean; mustNotExist?: boolean },
  ): { item: Item; added: boolean } {
    validateName(key, 'key');
    const value = validateData(data, obj.type);
    const existing = obj.items.get(key);
    if (opts.mustNotExist && existing) throw conflict('Map item with this key already exists', 54208);
    if (opts.mustExist && !existing) throw notFound(`map item ${key.slice(0, 64)}`, 20404);
    this.checkIfMatch(obj, existing, opts.ifMatch);
    if (!existing && obj.items.size >= MAX_ITEMS_PER_OBJECT) throw badRequest('Too many items in this object', 54010);
    this.hooks.beforeWrite?.(obj.sid);
    return this.writeItem(obj, key, 0, existing, value, opts.ttl, opts.createdBy);
  }

  pushListItem(obj: SyncObject, data: unknown, opts: { ttl?: number; createdBy: string }): Item {
    const value = validateData(data, obj.type);
    if (obj.items.size >= MAX_ITEMS_PER_OBJECT) throw badRequest('Too many items in this object', 54010);
    this.hooks.beforeWrite?.(obj.sid);
    const index = obj.nextIndex++;
    return this.writeItem(obj, String(index), index, undefined, value, opts.ttl, opts.createdBy).item;
  }

  /** Updates an existing item's data and/or TTL (list item update, CDS item TTL change). */
  updateItem(obj: SyncObject, key: string, opts: { data?: unknown; ttl?: number; ifMatch?: string }): Item {
    const existing = obj.items.get(key);
    if (!existing) throw notFound(`item ${key.slice(0, 64)}`, obj.type === 'map' ? 54201 : 54151);
    const value = opts.data === undefined ? existing.data : validateData(opts.data, obj.type);
    this.checkIfMatch(obj, existing, opts.ifMatch);
    this.hooks.beforeWrite?.(obj.sid);
    return this.writeItem(obj, key, existing.index, existing, value, opts.ttl, existing.createdBy).item;
  }

  removeItem(obj: SyncObject, key: string, ifMatch?: string): SyncEvent {
    const existing = obj.items.get(key);
    if (!existing) throw notFound(`item ${key.slice(0, 64)}`, obj.type === 'map' ? 54201 : 54151);
    this.checkIfMatch(obj, existing, ifMatch);
    this.hooks.beforeWrite?.(obj.sid);
    return this.deleteItem(obj, existing);
  }

  query(obj: SyncObject, q: ItemQuery): ItemPage {
    const now = Date.now();
    const all = [...obj.items.values()].filter((i) => i.expiresAt === null || i.expiresAt > now);
    type Position = Pick<Item, 'key' | 'index'>;
    const cmp =
      obj.type === 'list'
        ? (a: Position, b: Position) => a.index - b.index
        : (a: Position, b: Position) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    all.sort(q.order === 'asc' ? cmp : (a, b) => cmp(b, a));
    let start = 0;
    if (q.from !== undefined) {
      const pivot: Position = { key: q.from, index: Number(q.from) };
      start = all.findIndex((i) => {
        const c = q.order === 'asc' ? cmp(i, pivot) : cmp(pivot, i);
        return q.exclusive ? c > 0 : c >= 0;
      });
      if (start < 0) start = all.length;
    }
    const items = all.slice(start, start + q.limit);
    return { items, hasPrevious: start > 0 && all.length > 0, hasNext: start + q.limit < all.length };
  }

  eventsAfter(obj: SyncObject, lastEventId: number): SyncEvent[] {
    return obj.events.filter((e) => e.id > lastEventId);
  }

  setPermissions(obj: SyncObject, identity: string, perms: Permissions): void {
    if (!obj.permissions.has(identity) && obj.permissions.size >= MAX_PERMISSIONS_PER_OBJECT) {
      throw badRequest('Too many permissions on this object', 54010);
    }
    obj.permissions.set(identity, perms);
    this.hooks.onChange?.();
  }

  /** False when the identity had no grant. */
  removePermissions(obj: SyncObject, identity: string): boolean {
    if (!obj.permissions.delete(identity)) return false;
    this.hooks.onChange?.();
    return true;
  }

  /** Deletes expired items (with removal events) and expired objects. */
  sweepExpired(now = Date.now()): void {
    for (const obj of [...this.bySid.values()]) {
      if (obj.expiresAt !== null && obj.expiresAt <= now) {
        this.bySid.delete(obj.sid);
        if (obj.uniqueName !== null) this.byName[obj.type].delete(obj.uniqueName);
        this.record(obj, 'removed');
        continue;
      }
      for (const item of [...obj.items.values()]) {
        if (item.expiresAt !== null && item.expiresAt <= now) this.deleteItem(obj, item);
      }
    }
  }

  private checkIfMatch(obj: SyncObject, existing: Item | undefined, ifMatch: string | undefined): void {
    if (ifMatch === undefined) return;
    if (ifMatch === '-1') {
      if (existing) throw revisionMismatch(obj.type);
      return;
    }
    if (!existing || String(existing.revision) !== ifMatch) throw revisionMismatch(obj.type);
  }

  private writeItem(
    obj: SyncObject,
    key: string,
    index: number,
    existing: Item | undefined,
    data: Record<string, unknown>,
    ttl: number | undefined,
    createdBy: string,
  ): { item: Item; added: boolean } {
    const now = new Date();
    const newExpiry = expiry(ttl, now.getTime());
    const item: Item = {
      key,
      index,
      data,
      revision: existing ? existing.revision + 1 : 0,
      lastEventId: 0,
      dateCreated: existing?.dateCreated ?? now,
      dateUpdated: now,
      expiresAt: newExpiry === undefined ? (existing?.expiresAt ?? null) : newExpiry,
      createdBy: existing?.createdBy ?? createdBy,
    };
    obj.items.set(key, item);
    const event = this.record(obj, existing ? 'item_updated' : 'item_added', item);
    item.lastEventId = event.id;
    return { item, added: !existing };
  }

  private deleteItem(obj: SyncObject, item: Item): SyncEvent {
    obj.items.delete(item.key);
    return this.record(obj, 'item_removed', item);
  }

  private record(obj: SyncObject, kind: EventKind, item?: Item): SyncEvent {
    const date = new Date();
    obj.lastEventId += 1;
    obj.revision += 1;
    obj.dateUpdated = date;
    const event: SyncEvent = {
      id: obj.lastEventId,
      kind,
      objectType: obj.type,
      objectSid: obj.sid,
      objectUniqueName: obj.uniqueName,
      objectRevision: obj.revision,
      date,
    };
    if (item) {
      event.item = {
        key: item.key,
        index: item.index,
        revision: item.revision,
        data: item.data,
        expiresAt: item.expiresAt,
      };
    }
    obj.events.push(event);
    if (obj.events.length > EVENT_LOG_LENGTH) obj.events.splice(0, obj.events.length - EVENT_LOG_LENGTH);
    this.hooks.onEvent?.(event);
    this.hooks.onChange?.();
    return event;
  }
}
