import { FEED_NOTIFICATION_ITEM_KEY, parseFeedNotification } from '@conduit/shared';
import type { FeedNotificationV1, GroupId } from '@conduit/shared';
import { asConduitError } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';

/** What one consumer of a group's feed handles; every handler runs on the session's work queue. */
export interface FeedListener {
  /** A file pointer's Sync item (unvalidated), present at attach time or arriving later. */
  file?: (key: string, data: unknown) => Promise<void>;
  /** An item was removed from the map. */
  removed?: (key: string) => Promise<void>;
}

/** What the feed uses of the session. */
export type FeedSession = Pick<ClientSession, 'assertOpen' | 'enqueue' | 'channel' | 'log'> & {
  api: Pick<ClientSession['api'], 'restoreGroupSync'>;
};

export interface GroupFeedDeps {
  session: FeedSession;
  /** The group's Sync map name. */
  mapOf: (groupId: GroupId) => Promise<string>;
  /** Hands the group's `feed` notification (the records feed moved) to its records client. */
  notifyRecords: (groupId: GroupId, notification: FeedNotificationV1) => Promise<void>;
}

/** One open map: a single Sync subscription shared by the group's listeners. */
interface OpenMap {
  listeners: Set<FeedListener>;
  /** The current items (what a listener attaching later is handed first). */
  items: Map<string, unknown>;
  subscribed: Promise<() => Promise<void>>;
}

/**
 * Routes each group's Sync map to its consumers: one subscription per map, the `feed` item (the
 * records feed's coalesced notification) to the group's records client once, file pointers and
 * removals handed to every file listener (receive, receiveNext). The subscription closes when its
 * last listener detaches.
 */
export class GroupFeed {
  private readonly maps = new Map<GroupId, OpenMap>();

  constructor(private readonly deps: GroupFeedDeps) {}

  /**
   * Attaches a listener to the group's map (opening it if needed); returns the detach function,
   * which the caller registers with the session (ClientSession.track) along with its own cleanup.
   */
  async attach(groupId: GroupId, listener: FeedListener): Promise<() => Promise<void>> {
    this.deps.session.assertOpen();
    let map = this.maps.get(groupId);
    if (map) {
      map.listeners.add(listener);
      for (const [key, data] of map.items) this.dispatchFile(listener, key, data);
    } else {
      const listeners = new Set([listener]);
      const items = new Map<string, unknown>();
      const created: OpenMap = { listeners, items, subscribed: this.open(groupId, listeners, items) };
      this.maps.set(groupId, created);
      created.subscribed.catch(() => {
        if (this.maps.get(groupId) === created) this.maps.delete(groupId);
      });
      map = created;
    }
    const opened = map;
    await opened.subscribed;
    return async () => {
      opened.listeners.delete(listener);
      if (opened.listeners.size > 0) return;
      if (this.maps.get(groupId) === opened) this.maps.delete(groupId);
      const unsubscribe = await opened.subscribed;
      await unsubscribe();
    };
  }

  private async open(
    groupId: GroupId,
    listeners: Set<FeedListener>,
    items: Map<string, unknown>,
  ): Promise<() => Promise<void>> {
    const name = await this.deps.mapOf(groupId);
    const onItem = (key: string, data: unknown): void => {
      if (key === FEED_NOTIFICATION_ITEM_KEY) return this.notifyRecords(groupId, data);
      items.set(key, data);
      for (const listener of listeners) this.dispatchFile(listener, key, data);
    };
    const onRemoved = (key: string): void => {
      if (key === FEED_NOTIFICATION_ITEM_KEY) return; // its TTL ran out: the group went idle
      items.delete(key);
      for (const listener of listeners) {
        const removed = listener.removed;
        if (removed) this.deps.session.enqueue(() => removed(key), 'receive callback');
      }
    };
    return this.subscribe(groupId, name, onItem, onRemoved);
  }

  private dispatchFile(listener: FeedListener, key: string, data: unknown): void {
    const file = listener.file;
    if (file && !isRecordItem(data)) this.deps.session.enqueue(() => file(key, data), 'receive callback');
  }

  /**
   * Subscribes to a group's map. A map this member cannot open (deleted behind the server's back,
   * or its grant lost) is restored by the server on request, then opened once more; an outsider's
   * request fails with GROUP_NOT_FOUND.
   */
  private async subscribe(
    groupId: GroupId,
    name: string,
    onItem: (key: string, data: unknown) => void,
    onRemoved: (key: string) => void,
  ): Promise<() => Promise<void>> {
    const channel = await this.deps.session.channel();
    try {
      return await channel.subscribe(name, onItem, onRemoved);
    } catch (err) {
      const code = asConduitError(err).code;
      if (code !== 'FORBIDDEN' && code !== 'NOT_FOUND') throw err;
      await this.deps.session.api.restoreGroupSync(groupId);
      return channel.subscribe(name, onItem, onRemoved);
    }
  }

  /**
   * Not queued behind file receives: a notification only makes the records client compare a seq
   * and start (or extend) a pull, and a late one delays every watcher's `change`.
   */
  private notifyRecords(groupId: GroupId, data: unknown): void {
    const { session } = this.deps;
    let notification: FeedNotificationV1;
    try {
      notification = parseFeedNotification(data);
    } catch (err) {
      session.log(`feed notification ignored: ${asConduitError(err).code}`);
      return;
    }
    this.deps.notifyRecords(groupId, notification).catch((err: unknown) => {
      session.log(`feed notification not handled: ${asConduitError(err).code}`);
    });
  }
}

/** A record pointer's Sync item, left by a server from before the feed notification: ignored. */
const isRecordItem = (data: unknown): boolean =>
  typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'record';
