/**
 * PointerChannel over Twilio Sync Maps with the unmodified twilio-sync client (real Twilio, or the
 * devstack emulator when `twilsockUri` is given). Maps are created, granted and written by the
 * server; this side only opens existing ones and reads them.
 */
import { ConduitError, type PointerChannel } from '@conduit/shared';
import { SyncClient, type SyncMap, type SyncMapItem } from 'twilio-sync';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../delivery/retry-queue.js';
import { guardTwilsockSockets } from './twilsock-socket-guard.js';

export interface TwilioSyncChannelOptions {
  /** Fetches a fresh Sync access token (called at connect and whenever the token nears expiry). */
  getToken: () => Promise<string>;
  /** `ws://.../v3/wsconnect` of a local emulator; absent = Twilio's own endpoint. */
  twilsockUri?: string;
  /** How long connect() waits for the first connection (default 15 s). */
  connectTimeoutMs?: number;
  /** Receives errors thrown by onItem for live events and failed token refreshes (default: ignored). */
  onError?: (err: unknown) => void;
  /** Backoff of re-opening a map that was removed (until the server re-provisions it). */
  reopenBackoff?: BackoffPolicy;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** twilio-sync's shutdown() never settles from some states (e.g. after a protocol-level close). */
const SHUTDOWN_TIMEOUT_MS = 5_000;
const PAGE_SIZE = 100;

type OnItem = (key: string, data: unknown) => void;

/** One live subscription: re-reads its map after a reconnect, re-opens it after a removal. */
interface Subscription {
  resync(): void;
  close(): void;
}

export class TwilioSyncChannel implements PointerChannel {
  private readonly openMaps = new Set<SyncMap>();
  private readonly subscriptions = new Set<Subscription>();
  private everConnected = false;
  private denied = false;
  /** The token expired unrefreshed (the service closed the connection). */
  private expired = false;
  /** Why the last token refresh failed, until one succeeds (e.g. the device was revoked). */
  private refreshFailure: unknown = null;
  private refreshing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly client: SyncClient,
    private readonly opts: TwilioSyncChannelOptions,
  ) {
    client.on('connectionStateChanged', (state) => {
      if (state === 'denied') this.denied = true;
      else if (state === 'connected') {
        this.denied = false;
        this.expired = false;
        // A reconnect: items may have been added while away (replay is best effort): re-read.
        if (this.everConnected) for (const s of this.subscriptions) s.resync();
        this.everConnected = true;
      }
    });
    client.on('tokenAboutToExpire', () => this.refreshToken());
    client.on('tokenExpired', () => {
      this.expired = true;
      this.refreshToken();
    });
  }

  static async connect(opts: TwilioSyncChannelOptions): Promise<TwilioSyncChannel> {
    const token = await opts.getToken();
    // The SyncClient constructor writes into its options (twilsockClient...): never share them.
    const clientOptions: Record<string, unknown> = {};
    if (opts.twilsockUri) clientOptions.twilsock = { uri: opts.twilsockUri };
    const client = new SyncClient(token, clientOptions);
    guardTwilsockSockets(clientOptions.twilsockClient);
    const channel = new TwilioSyncChannel(client, opts);
    try {
      await waitConnected(client, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    } catch (err) {
      await shutdown(client);
      throw err;
    }
    return channel;
  }

  /**
   * Delivers every item present and every later change. After a reconnect the map is re-read and
   * every item delivered again (the caller skips what it already handled). When the map is removed
   * (expired, or deleted behind the server's back) the subscription re-opens it with backoff until
   * the server has re-provisioned it, then delivers what it holds.
   */
  async subscribe(map: string, onItem: OnItem, onRemoved?: (key: string) => void): Promise<() => Promise<void>> {
    let current = await this.open(map);
    let closed = false;
    let reopenTimer: NodeJS.Timeout | undefined;
    // Live events may arrive while the existing items are paged in: deliver each revision once.
    const delivered = new Map<string, string>();
    const deliver = (item: SyncMapItem, again = false): void => {
      if (!again && delivered.get(item.key) === item.revision) return;
      delivered.set(item.key, item.revision);
      onItem(item.key, item.data);
    };
    const guard = (fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        this.opts.onError?.(err);
      }
    };
    const readAll = async (syncMap: SyncMap, again: boolean): Promise<void> => {
      let page = await this.call(() => syncMap.getItems({ pageSize: PAGE_SIZE }));
      for (;;) {
        page.items.forEach((item) => deliver(item, again));
        if (!page.hasNextPage) break;
        const prev = page;
        page = await this.call(() => prev.nextPage());
      }
    };
    const reopen = (attempt: number): void => {
      if (closed || this.closed) return;
      reopenTimer = setTimeout(
        () => {
          this.open(map)
            .then(async (syncMap) => {
              if (closed) return syncMap.close();
              current = syncMap;
              attach(syncMap);
              delivered.clear();
              await readAll(syncMap, true);
            })
            .catch((err: unknown) => {
              this.opts.onError?.(err);
              reopen(attempt + 1);
            });
        },
        backoffDelay(attempt, this.opts.reopenBackoff ?? DEFAULT_BACKOFF),
      );
      reopenTimer.unref();
    };
    const attach = (syncMap: SyncMap): void => {
      const onLive = ({ item }: { item: SyncMapItem }): void => guard(() => deliver(item));
      syncMap.on('itemAdded', onLive);
      syncMap.on('itemUpdated', onLive);
      syncMap.on('itemRemoved', ({ key }: { key: string }) => {
        delivered.delete(key);
        guard(() => onRemoved?.(key));
      });
      syncMap.on('removed', () => {
        this.openMaps.delete(syncMap);
        reopen(1);
      });
    };
    attach(current);
    const subscription: Subscription = {
      resync: () => {
        if (!closed) readAll(current, true).catch((err: unknown) => this.opts.onError?.(err));
      },
      close: () => {
        closed = true;
        clearTimeout(reopenTimer);
        this.openMaps.delete(current);
        current.close();
      },
    };
    const unsubscribe = async (): Promise<void> => {
      this.subscriptions.delete(subscription);
      subscription.close();
    };
    try {
      await readAll(current, false);
    } catch (err) {
      await unsubscribe();
      throw err;
    }
    this.subscriptions.add(subscription);
    return unsubscribe;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.subscriptions) s.close();
    this.subscriptions.clear();
    for (const m of this.openMaps) m.close();
    this.openMaps.clear();
    await shutdown(this.client);
  }

  private async open(name: string): Promise<SyncMap> {
    if (this.closed) throw new ConduitError('TRANSPORT', 'The Sync channel is closed.');
    const syncMap = await this.call(() => this.client.map({ id: name, mode: 'open_existing' }));
    this.openMaps.add(syncMap);
    return syncMap;
  }

  /** Runs a twilio-sync call and translates its errors. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.denied) throw new ConduitError('UNAUTHENTICATED', 'Twilio Sync rejected the access token.');
    // Access ended with the token: the refused refresh (say DEVICE_REVOKED) is the cause, not the socket.
    if (this.expired && this.refreshFailure) throw this.translate(this.refreshFailure);
    try {
      return await fn();
    } catch (err) {
      throw this.translate(err);
    }
  }

  private translate(err: unknown): ConduitError {
    if (err instanceof ConduitError) return err;
    if (this.denied)
      return new ConduitError('UNAUTHENTICATED', 'Twilio Sync rejected the access token.', undefined, { cause: err });
    const status = (err as { status?: unknown } | null)?.status;
    const code = (err as { code?: unknown } | null)?.code;
    const details = { status, twilioCode: code };
    switch (status) {
      case 401:
        return new ConduitError('UNAUTHENTICATED', 'Twilio Sync rejected the access token.', details, { cause: err });
      case 403:
        return new ConduitError('FORBIDDEN', 'No access to this Sync map.', details, { cause: err });
      case 404:
        return new ConduitError('NOT_FOUND', 'No such Sync map or item.', details, { cause: err });
      case 400:
        if (code === 54006) return new ConduitError('PAYLOAD_TOO_LARGE', 'Sync item data exceeds 16 KiB.', details);
        return new ConduitError('VALIDATION_FAILED', 'Twilio Sync rejected the request.', details, { cause: err });
      default:
        return new ConduitError('TRANSPORT', 'A Twilio Sync request failed.', details, { cause: err });
    }
  }

  private refreshToken(): void {
    if (this.refreshing || this.closed) return;
    this.refreshing = this.opts
      .getToken()
      .then((token) => this.client.updateToken(token))
      .then(() => {
        this.refreshFailure = null;
      })
      .catch((err: unknown) => {
        this.refreshFailure = err;
        this.opts.onError?.(err);
      })
      .finally(() => {
        this.refreshing = null;
      });
  }
}

async function shutdown(client: SyncClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.shutdown().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
}

/** Resolves once connected; a rejected token ('denied') becomes UNAUTHENTICATED. */
function waitConnected(client: SyncClient, timeoutMs: number): Promise<void> {
  if (client.connectionState === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener('connectionStateChanged', onState);
      reject(new ConduitError('TIMEOUT', 'Timed out connecting to Twilio Sync.'));
    }, timeoutMs);
    const onState = (state: string): void => {
      if (state !== 'connected' && state !== 'denied') return;
      clearTimeout(timer);
      client.removeListener('connectionStateChanged', onState);
      if (state === 'connected') resolve();
      else reject(new ConduitError('UNAUTHENTICATED', 'Twilio Sync rejected the access token.'));
    };
    client.on('connectionStateChanged', onState);
  });
}
