/**
 * PointerChannel over Twilio Sync Maps with the unmodified twilio-sync client (real Twilio, or the
 * devstack emulator when `twilsockUri` is given). Maps are created, granted and written by the
 * server; this side only opens existing ones and reads them.
 */
import { ConduitError, type PointerChannel } from '@conduit/shared';
import { SyncClient, type SyncMap, type SyncMapItem } from 'twilio-sync';

export interface TwilioSyncChannelOptions {
  /** Fetches a fresh Sync access token (called at connect and whenever the token nears expiry). */
  getToken: () => Promise<string>;
  /** `ws://.../v3/wsconnect` of a local emulator; absent = Twilio's own endpoint. */
  twilsockUri?: string;
  /** How long connect() waits for the first connection (default 15 s). */
  connectTimeoutMs?: number;
  /** Receives errors thrown by onItem for live events and failed token refreshes (default: ignored). */
  onError?: (err: unknown) => void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** twilio-sync's shutdown() never settles from some states (e.g. after a protocol-level close). */
const SHUTDOWN_TIMEOUT_MS = 5_000;
const PAGE_SIZE = 100;

type OnItem = (key: string, data: unknown) => void;

export class TwilioSyncChannel implements PointerChannel {
  private readonly openMaps = new Set<SyncMap>();
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
    const channel = new TwilioSyncChannel(client, opts);
    try {
      await waitConnected(client, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    } catch (err) {
      await shutdown(client);
      throw err;
    }
    return channel;
  }

  async subscribe(map: string, onItem: OnItem, onRemoved?: (key: string) => void): Promise<() => Promise<void>> {
    const syncMap = await this.open(map);
    // Live events may arrive while the existing items are paged in: deliver each revision once.
    const delivered = new Map<string, string>();
    const deliver = (item: SyncMapItem): void => {
      if (delivered.get(item.key) === item.revision) return;
      delivered.set(item.key, item.revision);
      onItem(item.key, item.data);
    };
    const onLive = ({ item }: { item: SyncMapItem }): void => {
      try {
        deliver(item);
      } catch (err) {
        this.opts.onError?.(err);
      }
    };
    syncMap.on('itemAdded', onLive);
    syncMap.on('itemUpdated', onLive);
    syncMap.on('itemRemoved', ({ key }: { key: string }) => {
      delivered.delete(key);
      try {
        onRemoved?.(key);
      } catch (err) {
        this.opts.onError?.(err);
      }
    });
    const unsubscribe = async (): Promise<void> => {
      this.openMaps.delete(syncMap);
      syncMap.close();
    };
    try {
      let page = await this.call(() => syncMap.getItems({ pageSize: PAGE_SIZE }));
      for (;;) {
        page.items.forEach(deliver);
        if (!page.hasNextPage) break;
        const current = page;
        page = await this.call(() => current.nextPage());
      }
    } catch (err) {
      await unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
