import type { EThree } from '@virgilsecurity/e3kit-node';
import { ConduitError } from '@conduit/shared';
import type { Endpoint, GroupId, Identity, PointerChannel } from '@conduit/shared';
import { HttpClient } from '../api/http-client.js';
import type { KeyStore } from '../platform/key-store.js';
import type { Platform } from '../platform/platform.js';
import type { Replica } from '../records/replica.js';
import { LocalState, type StoredSession } from '../state/local-state.js';
import { ReceivedLog } from '../state/received-log.js';
import { EndpointTrust } from '../trust/endpoint-trust.js';
import { virgil } from '../virgil/errors.js';
import { GroupKeys } from '../virgil/group-keys.js';
import { selfSealer } from '../virgil/self-seal.js';
import { DevSessionSource } from './dev-session-source.js';
import { IdTokenSource, type IdTokenProvider } from './id-token-source.js';
import { asConduitError } from './errors.js';
import { Lazy } from './lazy.js';

export interface SessionOptions {
  /** Root of local state (the records replica lives under `<home>/<identity>/`). */
  home: string;
  virgilApiUrl?: string;
  virgilServicePublicKey?: string;
  twilsockUri?: string;
  keyPassword?: () => Promise<string>;
}

/** What ClientSession.load reads: the server and the identity's state under `home`. */
export interface SessionSettings extends SessionOptions {
  serverUrl: string;
  identity: string;
  log?: (line: string) => void;
  idToken?: IdTokenProvider;
}

export interface SessionDeps {
  opts: SessionOptions;
  state: LocalState;
  received: ReceivedLog;
  api: HttpClient;
  log: (line: string) => void;
  platform: Platform;
  /** The session stored on this device when the client opened (session.json), if any. */
  stored?: StoredSession;
  /** OIDC mode: the identity provider's ID tokens are the bearer (ConduitClientOptions.idToken). */
  idToken?: IdTokenProvider;
  /** The owner of a group (whose signature its key epochs carry). */
  ownerOf: (groupId: GroupId) => Promise<Identity>;
}

/**
 * One identity's open session on this device: owns every resource created on first use (the key
 * store, E3Kit, group keys, the Sync connection, the records replica) and releases them all at
 * close, once. A closed session stays closed: using it fails with CONFIG.
 */
export class ClientSession {
  readonly state: LocalState;
  readonly received: ReceivedLog;
  readonly api: HttpClient;
  readonly log: (line: string) => void;
  readonly platform: Platform;
  readonly pins: EndpointTrust;
  /** The API's bearer tokens in dev auth mode: this device's session, renewed with its refresh token. */
  readonly sessions: DevSessionSource;
  /** The API's bearer tokens in OIDC mode (undefined in dev auth mode). */
  readonly idTokens: IdTokenSource | undefined;
  private readonly keyStoreLoader = new Lazy<KeyStore>();
  private readonly ethreeLoader = new Lazy<EThree>();
  private readonly channelLoader = new Lazy<PointerChannel>();
  private readonly replicaLoader = new Lazy<Replica>();
  private groupKeys: GroupKeys | undefined;
  private readonly subscriptions = new Set<() => Promise<void>>();
  /** Pointers are handled one at a time per client, so two deliveries of one item never race. */
  private work: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly closing = new AbortController();

  constructor(private readonly deps: SessionDeps) {
    this.state = deps.state;
    this.received = deps.received;
    this.api = deps.api;
    this.log = deps.log;
    this.platform = deps.platform;
    this.sessions = new DevSessionSource(
      {
        state: deps.state,
        api: deps.api,
        keyStore: async (prompt) => (prompt ? this.keyStore() : this.keyStoreLoader.created()),
      },
      deps.idToken ? undefined : deps.stored,
    );
    // Each new ID token is kept like a dev session (0600), so the next process need not ask again.
    this.idTokens =
      deps.idToken &&
      new IdTokenSource(
        deps.idToken,
        (kept) => (kept ? deps.state.saveSession(kept) : deps.state.clearSession()),
        deps.stored,
      );
    deps.api.setSessionSource(this.idTokens ?? this.sessions);
    this.pins = new EndpointTrust({
      self: deps.state.identity,
      pinPath: deps.state.pinsPath,
      pinIo: { files: deps.platform.stateFiles, cipher: deps.platform.sealingCipher },
      ethree: () => this.ethree(),
      keyStore: () => this.keyStore(),
      api: deps.api,
      log: deps.log,
    });
  }

  /**
   * Reads the identity's local state (creating it on first use) and the API session it stored
   * (renewed on use if it expired and a refresh token allows): what a session is built from.
   */
  static async load(settings: SessionSettings, platform: Platform): Promise<Omit<SessionDeps, 'ownerOf'>> {
    const api = new HttpClient({ baseUrl: settings.serverUrl });
    const state = await LocalState.open(settings.home, settings.identity, platform.stateFiles);
    const received = await ReceivedLog.open(state.receivedLogPath, platform.stateFiles);
    api.setDevice(state.deviceId);
    const stored = await state.loadSession();
    const log = settings.log ?? (() => undefined);
    return { opts: settings, state, received, api, stored, idToken: settings.idToken, log, platform };
  }

  get identity(): Identity {
    return this.state.identity;
  }

  get endpoint(): Endpoint {
    return { identity: this.state.identity, deviceId: this.state.deviceId };
  }

  /** Aborts when the session closes. */
  get closingSignal(): AbortSignal {
    return this.closing.signal;
  }

  get keyStorePath(): string {
    return this.state.files.join(this.state.e3kitDir, 'keystore.json');
  }

  assertOpen(): void {
    if (this.closed) throw new ConduitError('CONFIG', 'The client is closed.');
  }

  /** The unlocked key store; unlocks it with `password`, or else asks `keyPassword`. */
  keyStore(password?: string): Promise<KeyStore> {
    this.assertOpen();
    return this.keyStoreLoader.get(async () => {
      const pw = password ?? (await this.deps.opts.keyPassword?.());
      if (pw === undefined) {
        throw new ConduitError(
          'UNAUTHENTICATED',
          "This device's key store is locked: log in, or give the password (unlock / keyPassword).",
        );
      }
      return this.platform.unlockKeyStore(this.keyStorePath, pw);
    });
  }

  ethree(): Promise<EThree> {
    this.assertOpen();
    return this.ethreeLoader.get(async () => {
      await this.platform.initCrypto();
      const keyEntryStorage = await this.keyStore();
      return virgil('Opening the key store', () =>
        this.platform.openEThree({
          keyEntryStorage,
          identity: this.identity,
          storageDir: this.state.e3kitDir,
          apiUrl: this.deps.opts.virgilApiUrl,
          servicePublicKey: this.deps.opts.virgilServicePublicKey,
          getToken: async () => (await this.api.virgilToken()).token,
        }),
      );
    });
  }

  async keys(): Promise<GroupKeys> {
    if (!this.groupKeys) {
      const ethree = await this.ethree();
      const pinned = await this.pins.cards();
      this.groupKeys ??= new GroupKeys(ethree, this.deps.ownerOf, pinned);
    }
    return this.groupKeys;
  }

  /**
   * The server answered GROUP_NOT_FOUND for a group: drops its key, cached and local (a deleted
   * group's key must not outlive it on this device). Best effort: a locked key store or an
   * unreachable directory leaves it for the next contact.
   */
  async dropGroupKey(groupId: GroupId): Promise<void> {
    try {
      await (await this.keys()).drop(groupId);
    } catch (err) {
      this.log(`group ${groupId}: key not dropped yet (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  /** Drops cached group keys (after this identity's private key changed). */
  forgetGroupKeys(): void {
    this.groupKeys?.forget();
  }

  channel(): Promise<PointerChannel> {
    this.assertOpen();
    // Loaded on first use (~20 MiB of code and heap): a send only needs it after its upload.
    return this.channelLoader.get(() =>
      import('../adapters/twilio-sync-channel.js').then(({ TwilioSyncChannel }) =>
        TwilioSyncChannel.connect({
          getToken: async () => (await this.api.syncToken()).token,
          twilsockUri: this.deps.opts.twilsockUri,
          // A refused refresh (DEVICE_REVOKED) ends Sync access when the current token expires.
          onError: (err) => {
            const e = asConduitError(err);
            this.log(`sync: ${e.code}: ${e.message}`);
          },
        }),
      ),
    );
  }

  replica(): Promise<Replica> {
    return this.replicaLoader.get(async () =>
      this.platform.openReplica(
        this.state.files.join(this.deps.opts.home, this.identity),
        selfSealer(await this.ethree()),
        this.log,
      ),
    );
  }

  /** Runs `step` after every step queued before it; the chain never rejects (a stray rejection would abort the process). */
  enqueue(step: () => Promise<void>, what: string): void {
    this.work = this.work.then(step).catch((err: unknown) => this.log(`${what} failed: ${asConduitError(err).code}`));
  }

  /** Registers a stop function that close() runs; returns the one to call instead (runs once, unregisters). */
  track(stop: () => Promise<void>): () => Promise<void> {
    let stopped = false;
    const tracked = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      this.subscriptions.delete(tracked);
      await stop();
    };
    this.subscriptions.add(tracked);
    return tracked;
  }

  /** Stops receiving, closes the Sync connection and releases E3Kit's local storage. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await Promise.allSettled([...this.subscriptions].map((stop) => stop()));
    await this.work;
    await (await this.channelLoader.created())?.close().catch(() => undefined);
    const ethree = await this.ethreeLoader.created();
    if (ethree) await this.platform.closeEThree(ethree).catch(() => undefined);
    (await this.replicaLoader.created())?.close();
    (await this.keyStoreLoader.created())?.lock();
  }
}
