/**
 * Keeps the Sync emulator's state in a file, as the real Sync keeps maps across anything: objects,
 * items with their expiry, permissions, revisions and the replay event logs. Each save writes the
 * whole state to a temp file, fsyncs it, renames it over the old one and fsyncs the folder, so a
 * crash leaves either the previous or the next state, never a torn one. Saves coalesce: changes
 * made while one is being written go into the next. No credentials are stored here.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { EventKind, Item, SyncEvent, SyncObject, SyncStore } from './store.js';

/** A state file larger than this is refused rather than read (the store's own bounds keep it far below). */
const MAX_FILE_BYTES = 512 * 1024 * 1024;

const Perms = z.object({ read: z.boolean(), write: z.boolean(), manage: z.boolean() });
const Data = z.record(z.string(), z.unknown());
const Expiry = z.number().int().nullable();
const PersistedItem = z.object({
  key: z.string(),
  index: z.number().int(),
  data: Data,
  revision: z.number().int(),
  lastEventId: z.number().int(),
  dateCreated: z.number(),
  dateUpdated: z.number(),
  expiresAt: Expiry,
  createdBy: z.string(),
});
const PersistedEvent = z.object({
  id: z.number().int(),
  kind: z.enum(['item_added', 'item_updated', 'item_removed', 'removed'] satisfies EventKind[]),
  objectRevision: z.number().int(),
  item: z
    .object({ key: z.string(), index: z.number().int(), revision: z.number().int(), data: Data, expiresAt: Expiry })
    .optional(),
  date: z.number(),
});
const PersistedObject = z.object({
  type: z.enum(['map', 'list']),
  sid: z.string(),
  uniqueName: z.string().nullable(),
  nextIndex: z.number().int(),
  lastEventId: z.number().int(),
  revision: z.number().int(),
  dateCreated: z.number(),
  dateUpdated: z.number(),
  expiresAt: Expiry,
  createdBy: z.string(),
  items: z.array(PersistedItem),
  events: z.array(PersistedEvent),
  permissions: z.array(z.tuple([z.string(), Perms])),
});
const PersistedSync = z.object({ version: z.literal(1), objects: z.array(PersistedObject) });
type PersistedSync = z.infer<typeof PersistedSync>;
type PersistedObject = z.infer<typeof PersistedObject>;

function toPersisted(objects: readonly SyncObject[]): PersistedSync {
  return {
    version: 1,
    objects: objects.map((o) => ({
      type: o.type,
      sid: o.sid,
      uniqueName: o.uniqueName,
      nextIndex: o.nextIndex,
      lastEventId: o.lastEventId,
      revision: o.revision,
      dateCreated: o.dateCreated.getTime(),
      dateUpdated: o.dateUpdated.getTime(),
      expiresAt: o.expiresAt,
      createdBy: o.createdBy,
      items: [...o.items.values()].map((i) => ({
        ...i,
        dateCreated: i.dateCreated.getTime(),
        dateUpdated: i.dateUpdated.getTime(),
      })),
      events: o.events.map((e) => ({
        id: e.id,
        kind: e.kind,
        objectRevision: e.objectRevision,
        ...(e.item ? { item: e.item } : {}),
        date: e.date.getTime(),
      })),
      permissions: [...o.permissions],
    })),
  };
}

function fromPersisted(o: PersistedObject): SyncObject {
  const items = new Map<string, Item>(
    o.items.map((i) => [i.key, { ...i, dateCreated: new Date(i.dateCreated), dateUpdated: new Date(i.dateUpdated) }]),
  );
  const events: SyncEvent[] = o.events.map((e) => ({
    id: e.id,
    kind: e.kind,
    objectType: o.type,
    objectSid: o.sid,
    objectUniqueName: o.uniqueName,
    objectRevision: e.objectRevision,
    ...(e.item ? { item: e.item } : {}),
    date: new Date(e.date),
  }));
  return {
    ...o,
    items,
    events,
    dateCreated: new Date(o.dateCreated),
    dateUpdated: new Date(o.dateUpdated),
    permissions: new Map(o.permissions),
  };
}

/** Fills an empty store from `file`; false when there is no file yet. */
export async function loadSyncState(store: SyncStore, file: string): Promise<boolean> {
  let text: string;
  try {
    if ((await stat(file)).size > MAX_FILE_BYTES) throw new Error(`Sync state file ${file} is too large`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  store.restore(PersistedSync.parse(JSON.parse(text)).objects.map(fromPersisted));
  return true;
}

export class SyncStateFile {
  private dirty = false;
  private running: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(
    private readonly file: string,
    private readonly store: SyncStore,
  ) {}

  /** Store hook: schedules a save of the state as it is once the current operation has finished. */
  changed(): void {
    this.dirty = true;
    this.running ??= this.drain();
  }

  /** Resolves once every change so far is on disk; throws when the last save failed. */
  async flush(): Promise<void> {
    if (this.dirty) this.running ??= this.drain();
    while (this.running) await this.running;
    if (this.failure !== null) throw this.failure;
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        // Let the synchronous store operation that triggered the save complete first.
        await new Promise((resolve) => setImmediate(resolve));
        this.dirty = false;
        await this.write(JSON.stringify(toPersisted(this.store.all())));
        this.failure = null;
      }
    } catch (err) {
      // Stays dirty: the next change (or flush caller's retry) writes again.
      this.dirty = true;
      this.failure = err;
    } finally {
      this.running = null;
    }
  }

  private async write(text: string): Promise<void> {
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const fh = await open(temp, 'w', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, this.file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    // The rename itself is durable only once the folder is synced.
    const dir = await open(dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
