/**
 * Local Twilio Sync: one HTTP server on 127.0.0.1 that carries both the Twilsock WebSocket used by
 * the unmodified twilio-sync client and the Sync REST API used by the unmodified twilio library.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Access } from './access.js';
import { TokenVerifier, type SyncCredentials } from './auth.js';
import { CdsRouter } from './cds-routes.js';
import { FaultState, type SyncFaults } from './faults.js';
import { RestRouter, type RestItemWrite } from './rest-routes.js';
import { loadSyncState, SyncStateFile } from './persist.js';
import { SyncStore } from './store.js';
import { SubscriptionHub } from './subscriptions.js';
import { TWILSOCK_PATH, TwilsockServer } from './twilsock-server.js';
import { DEFAULT_SYNC_WRITE_LIMIT, type SyncWriteLimit } from './write-limit.js';

export { createSyncCredentials, type SyncCredentials } from './auth.js';
export type { RestFailureStatus, SyncFaults } from './faults.js';
export type { SyncWriteStats } from './write-stats.js';
export type { RestItemWrite } from './rest-routes.js';
export {
  DEFAULT_SYNC_WRITE_LIMIT,
  SYNC_WRITE_BURST_ENV,
  SYNC_WRITE_RATE_ENV,
  writeLimitFromEnv,
  type SyncWriteLimit,
} from './write-limit.js';

export interface SyncEmulatorOptions extends SyncCredentials {
  host?: string;
  port?: number;
  /** Service ACL: clients need per-map grants (Permissions REST API) and cannot create objects. */
  aclEnabled?: boolean;
  /** Where the state is kept across restarts (maps, items, permissions); in memory only without it. */
  dataFile?: string;
  /** Twilio's per-object write limit (default 20/s, burst 20: write-limit.ts); null = unlimited. */
  writeLimit?: SyncWriteLimit | null;
  /** Called for every REST write to a map item with the emulator's answer (tests witness writes). */
  onItemWrite?: (write: RestItemWrite) => void;
}

export interface SyncEmulator {
  /** `ws://HOST:PORT/v3/wsconnect`: pass as `{ twilsock: { uri } }` to twilio-sync. */
  twilsockUri: string;
  /** `http://HOST:PORT`: replaces `https://sync.twilio.com` for the twilio library. */
  restUrl: string;
  faults: SyncFaults;
  close(): Promise<void>;
}

/** Expired items and objects are swept this often (Twilio itself may take longer). */
const SWEEP_INTERVAL_MS = 200;

export async function startSyncEmulator(opts: SyncEmulatorOptions): Promise<SyncEmulator> {
  const {
    host = '127.0.0.1',
    port = 0,
    aclEnabled = false,
    dataFile,
    writeLimit = DEFAULT_SYNC_WRITE_LIMIT,
    onItemWrite,
    ...creds
  } = opts;
  const twilsockRef: { server?: TwilsockServer } = {};
  const faults = new FaultState(() => twilsockRef.server?.dropAll(), writeLimit);
  const access = new Access(aclEnabled);
  const hubRef: { hub?: SubscriptionHub } = {};
  const fileRef: { file?: SyncStateFile } = {};
  const store = new SyncStore({
    beforeWrite: (sid) => faults.consumeWrite(sid),
    onEvent: (event) => hubRef.hub?.publish(event),
    onChange: () => fileRef.file?.changed(),
  });
  if (dataFile !== undefined) {
    await loadSyncState(store, dataFile);
    fileRef.file = new SyncStateFile(dataFile, store);
  }
  const hub = (hubRef.hub = new SubscriptionHub(store, access));
  const twilsock = (twilsockRef.server = new TwilsockServer(
    new TokenVerifier(creds),
    new CdsRouter(store, access, hub),
    hub,
  ));
  // A REST write is answered once it is on disk, as the real service's acknowledgement is durable.
  const rest = new RestRouter(
    store,
    faults,
    creds,
    aclEnabled,
    () => fileRef.file?.flush() ?? Promise.resolve(),
    onItemWrite,
  );

  const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    rest.handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname === TWILSOCK_PATH)
      twilsock.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const sweeper = setInterval(() => store.sweepExpired(), SWEEP_INTERVAL_MS);
  sweeper.unref();

  const { port: actualPort } = server.address() as AddressInfo;
  const origin = `${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  return {
    twilsockUri: `ws://${origin}${TWILSOCK_PATH}`,
    restUrl: `http://${origin}`,
    faults,
    async close() {
      clearInterval(sweeper);
      rest.cancelDelays();
      await twilsock.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fileRef.file?.flush();
    },
  };
}
