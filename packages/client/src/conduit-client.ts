import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { EThree } from '@virgilsecurity/e3kit-node';
import {
  ConduitError,
  FileMeta,
  GroupId,
  Identity,
  MAX_GROUP_MEMBERS,
  parseAnyPointer,
  parsePointer,
  PointerId,
  syncMapOf,
} from '@conduit/shared';
import { DeviceId } from '@conduit/shared';
import type { Endpoint, GroupView, PointerChannel, PointerV1, RecordPointerV1, SessionResponse } from '@conduit/shared';
import { HttpClient } from './api/http-client.js';
import * as opaqueAuth from './auth/opaque-client.js';
import { legacyPasswords } from './auth/passwords.js';
import { reregisterWithBackup } from './auth/reregister.js';
import { isVerificationFailure, reportAnomaly } from './delivery/anomalies.js';
import { RetryQueue } from './delivery/retry-queue.js';
import { SenderDevices } from './delivery/sender-devices.js';
import { verifyDelivery } from './delivery/status.js';
import type { DeliveryStatus } from './delivery/status.js';
import { closeEThree, initVirgilWasm, openEThree } from './crypto/e3kit.js';
import { EncryptedKeyStore } from './crypto/key-store.js';
import { initPythiaWasm } from '@conduit/shared/virgil-wasm';
import { openEnvelope, sealEnvelope } from './files/envelope.js';
import { guessMediaType } from './files/media-type.js';
import { groupNameOf, namedDevices, setDeviceName, setGroupName, type NamedDevice } from './names/names.js';
import { parseName, type OpenedName } from './names/sealed-name.js';
import * as lifecycle from './identity/lifecycle.js';
import { receivePointer } from './receive-pointer.js';
import { openReplica } from './records/open-replica.js';
import { RecordsClient } from './records/records-client.js';
import type { MergeFn } from './records/records-client.js';
import type { Replica } from './records/replica.js';
import type { ReceiveContext, ReceivedFile } from './receive-pointer.js';
import { LocalState } from './state/local-state.js';
import { isFinal, ReceivedLog } from './state/received-log.js';
import { DownloadStateStore } from './transfer/download-state.js';
import type { DownloadOptions } from './transfer/download.js';
import { progressEmitter } from './transfer/progress.js';
import type { ProgressListener } from './transfer/progress.js';
import { readPlainRange } from './transfer/range-read.js';
import { isRetryable, withRetry } from './transfer/retry.js';
import { uploadFile } from './transfer/upload.js';
import type { UploadOptions } from './transfer/upload.js';
import { UploadStateStore } from './transfer/upload-state.js';
import { fromVirgilError, virgil } from './virgil/errors.js';
import { waitForAbort } from './util/abort.js';
import { GroupKeys } from './virgil/group-keys.js';
import { receiptSigner, verifyReceipt } from './virgil/receipts.js';
import type { CardOf } from './virgil/receipts.js';
import { selfSealer } from './virgil/self-seal.js';
import { EndpointTrust } from './trust/endpoint-trust.js';
import type { ConfirmTrust, SafetyNumberReport, TrustReport } from './trust/verification.js';

export interface ConduitClientOptions {
  serverUrl: string;
  /** Root of local state; each identity gets `<home>/<identity>/`. */
  home: string;
  identity: string;
  /** Virgil API base URL (the local devstack's directory, or Virgil Cloud when absent). */
  virgilApiUrl?: string;
  /** Public key (base64) that signs cards in the directory; card signatures are verified against it. */
  virgilServicePublicKey?: string;
  /** Twilio Sync websocket (twilsock) URI; Twilio's own when absent. */
  twilsockUri?: string;
  /** Diagnostics (never plaintext, keys, passwords or tokens). */
  log?: (line: string) => void;
  /**
   * Asked for the user's password when the device's key store must be unlocked and nothing in
   * this session (login, register, unlock) has done it yet. Without it, key operations on a
   * locked device fail with UNAUTHENTICATED.
   */
  keyPassword?: () => Promise<string>;
}

export interface SendOptions extends UploadOptions {
  /** File name shown to recipients (default: the file's base name). */
  name?: string;
  /** Media type (default: guessed from the name). */
  type?: string;
}

export interface SentFile {
  pointerId: PointerId;
  objectId: string;
  /** Plaintext size of the file in bytes. */
  plainLength: number;
  /** Stored (ciphertext) size in bytes. */
  size: number;
  /** An interrupted upload of the same file was continued. */
  resumed: boolean;
  /** Where the pointer was published. */
  syncMap: string;
  itemKey: string;
  /** The published pointer (what readRange takes). */
  pointer: PointerV1;
}

/** Transfer tuning of receive() and receiveNext(). */
export interface ReceiveTransferOptions {
  /** Ranged GETs in flight per file (default 4). */
  concurrency?: DownloadOptions['concurrency'];
  /** Progress of each file's download. */
  onProgress?: ProgressListener;
}

export interface ReceiveOptions extends ReceiveTransferOptions {
  outDir: string;
  onFile?: (file: ReceivedFile) => void;
  /** A pointer that could not be received (it stays unacknowledged); receiving goes on. */
  onError?: (err: ConduitError) => void;
  /** Stops receiving; without it, receive() runs until close(). */
  signal?: AbortSignal;
}

/**
 * One identity on one device: account and key setup, groups, sending and receiving files.
 * Plaintext only exists in memory and in the files the user asked to send or receive.
 */
export class ConduitClient {
  private ethreePromise: Promise<EThree> | undefined;
  private keyStorePromise: Promise<EncryptedKeyStore> | undefined;
  private groupKeys: GroupKeys | undefined;
  private readonly pins: EndpointTrust;
  private channelPromise: Promise<PointerChannel> | undefined;
  private readonly groupViews = new Map<string, GroupView>();
  private replicaPromise: Promise<Replica> | undefined;
  private readonly recordClients = new Map<string, Promise<RecordsClient>>();
  private readonly subscriptions = new Set<() => Promise<void>>();
  /** Pointers are handled one at a time per client, so two deliveries of one item never race. */
  private work: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly closing = new AbortController();

  private constructor(
    private readonly opts: ConduitClientOptions,
    private readonly state: LocalState,
    private readonly received: ReceivedLog,
    private readonly api: HttpClient,
    private readonly log: (line: string) => void,
  ) {
    this.pins = new EndpointTrust({
      self: state.identity,
      pinPath: state.pinsPath,
      ethree: () => this.ethree(),
      keyStore: () => this.keyStore(),
      api,
      log,
    });
  }

  static async open(opts: ConduitClientOptions): Promise<ConduitClient> {
    const api = new HttpClient({ baseUrl: opts.serverUrl });
    const state = await LocalState.open(opts.home, opts.identity);
    const received = await ReceivedLog.open(state.receivedLogPath);
    api.setDevice(state.deviceId);
    const session = await state.loadSession();
    if (session && Date.parse(session.expiresAt) > Date.now()) api.setSession(session.token);
    return new ConduitClient(opts, state, received, api, opts.log ?? (() => undefined));
  }

  get identity(): Identity {
    return this.state.identity;
  }

  get deviceId(): string {
    return this.state.deviceId;
  }

  get endpoint(): Endpoint {
    return { identity: this.state.identity, deviceId: this.state.deviceId };
  }

  /**
   * Creates the account (OPAQUE; a reserved name needs the operator's `registrationCode`),
   * registers this device, the public key, and a password backup of the private key.
   */
  async register(password: string, registrationCode?: string): Promise<void> {
    await opaqueAuth.registerAccount(this.api, this.identity, password, registrationCode);
    const backup = await this.startSession(password);
    await this.unlockAfterLogin(password);
    await this.ensurePrivateKey(backup, true);
  }

  /** Starts a session; on a device without the private key, restores it from the password backup. */
  async login(password: string): Promise<void> {
    const backup = await this.startSession(password);
    await this.unlockAfterLogin(password);
    await this.ensurePrivateKey(backup, false);
  }

  /**
   * Unlocks this device's key store (the private key is encrypted at rest under a key derived
   * from the password; docs/identity.md). login and register unlock it too. A wrong password
   * fails with INVALID_CREDENTIALS.
   */
  async unlock(password: string): Promise<void> {
    await this.keyStore(password);
  }

  /** Explicit restore: replaces this device's private key with the one in the password backup. */
  async restoreKey(password: string): Promise<void> {
    const backup = await this.startSession(password);
    await this.unlockAfterLogin(password);
    await initPythiaWasm();
    await lifecycle.replaceFromBackup(await this.ethree(), await this.keyStore(), backup);
    this.groupKeys?.forget();
  }

  /** Backs the private key up under the password (register does it already); 'exists' if there is one. */
  async backupKey(password: string): Promise<'created' | 'exists'> {
    const backup = await this.startSession(password); // proves the password: the backup is never sealed under a typo
    await this.unlockAfterLogin(password);
    await initPythiaWasm();
    return lifecycle.backup(await this.ethree(), backup);
  }

  /**
   * Replaces a lost or compromised private key with a new one (new card superseding the old, new
   * backup). Afterwards each group's owner must run reAddMember for this identity, and this
   * identity's other devices must run restoreKey.
   */
  async rotateKey(password: string): Promise<void> {
    const backup = await this.startSession(password);
    await this.unlockAfterLogin(password);
    await initPythiaWasm();
    try {
      await lifecycle.rotate(await this.ethree(), await this.keyStore(), backup, (t) => this.api.putKeyTransition(t));
    } finally {
      this.groupKeys?.forget();
    }
  }

  /**
   * The safety number between this identity's key (this device's) and `identity`'s pinned card
   * (pinned now if it was not yet): equal on both ends when neither key was substituted. Compare
   * it out of band (docs/identity.md).
   */
  async safetyNumber(identity: string): Promise<SafetyNumberReport> {
    return this.pins.safetyNumber(identity);
  }

  /**
   * Accepts `identity`'s current card as its key (after comparing safety numbers out of band):
   * re-pins it, keeping the replaced pin in the history. Ends IDENTITY_CHANGED for that identity.
   * `confirm` sees the new card's safety number first and may cancel (VALIDATION_FAILED).
   */
  async trust(identity: string, opts: { confirm?: ConfirmTrust } = {}): Promise<TrustReport> {
    return this.pins.trust(identity, opts.confirm);
  }

  /**
   * Changes the password: the server's OPAQUE record (after a fresh login proof), the key
   * backup's secret and this device's key store's. The server ends every session of the identity
   * (all devices); this device logs in again with the new password.
   */
  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    if (oldPassword === newPassword) throw new ConduitError('VALIDATION_FAILED', 'The new password is the same.');
    await this.startSession(oldPassword).catch(opaqueAuth.explainNoPasswordRoutes);
    await this.unlockAfterLogin(oldPassword);
    await initPythiaWasm();
    const change = await opaqueAuth.startPasswordChange(this.api, this.identity, oldPassword, newPassword);
    await reregisterWithBackup(await this.ethree(), this.api, change.oldBackup, change, this.log);
    await (await this.keyStore()).rekey(newPassword);
    await this.startSession(newPassword);
  }

  /**
   * Deletes the key backup, revokes the public key, removes this device from the server and wipes
   * this identity's local state. The client is closed afterwards. (The server account stays: the
   * server has no route to delete it yet.)
   */
  async unregister(password: string): Promise<void> {
    await this.startSession(password);
    await this.unlockAfterLogin(password);
    await initPythiaWasm();
    await lifecycle.unregisterKey(await this.ethree());
    await this.api.revokeDevice(this.state.deviceId);
    await this.close();
    await rm(this.state.dir, { recursive: true, force: true });
  }

  /** This identity's registered devices (endpoints), with their names where they open. */
  async listDevices(): Promise<NamedDevice[]> {
    return namedDevices((await this.api.listDevices()).devices, () => this.ethree());
  }

  /** Names one of this identity's devices (sealed for this identity only; the server sees ciphertext). */
  async renameDevice(deviceId: string, name: string): Promise<void> {
    await setDeviceName(await this.ethree(), this.api, parseId(DeviceId, deviceId, 'device id'), name);
  }

  /**
   * Revokes a device of this identity for good: the server refuses its sessions at once (and its
   * id thereafter), and drops its pending acknowledgements. Revoking this very device also
   * forgets its session.
   */
  async revokeDevice(deviceId: string): Promise<void> {
    const id = parseId(DeviceId, deviceId, 'device id');
    await this.api.revokeDevice(id);
    if (id === this.state.deviceId) this.api.setSession(undefined);
  }

  /**
   * Creates a group of this identity (the owner) and `members`, with a fresh E3Kit group key, and
   * names it (see renameGroup) when `name` is given.
   */
  async createGroup(members: string[], opts: { name?: string } = {}): Promise<GroupView> {
    const name = opts.name === undefined ? undefined : parseName(opts.name);
    const others = [...new Set(members)].filter((m) => m !== this.identity);
    for (const m of others) {
      if (!Identity.safeParse(m).success) throw new ConduitError('VALIDATION_FAILED', `Invalid identity: ${m}`);
    }
    if (others.length > MAX_GROUP_MEMBERS - 1) {
      throw new ConduitError('VALIDATION_FAILED', `A group holds at most ${MAX_GROUP_MEMBERS} participants.`);
    }
    const groupId = randomBytes(16).toString('hex');
    const keys = await this.keys();
    await keys.create(groupId, others);
    try {
      const view = await this.api.createGroup({ groupId, members: others });
      this.groupViews.set(groupId, view);
      if (name === undefined) return view;
    } catch (err) {
      await keys.discard(groupId);
      throw err;
    }
    // The group exists from here: a failure leaves it unnamed, and `renameGroup` can retry.
    await setGroupName(keys, this.api, groupId, name);
    return this.getGroup(groupId);
  }

  /**
   * Owner only: names the group. The name is sealed with the group key's latest epoch and signed
   * by the owner; the server stores only the ciphertext and the latest one wins.
   */
  async renameGroup(groupId: string, name: string): Promise<GroupView> {
    const gid = parseId(GroupId, groupId, 'group id');
    await this.ownedGroup(gid, 'rename the group');
    await setGroupName(await this.keys(), this.api, gid, name);
    return this.getGroup(gid);
  }

  /** The group's name if it opens and was sealed by its (pinned) owner for it; else why not. */
  async groupName(view: GroupView): Promise<OpenedName> {
    // Unnamed groups need no key (so listing them needs no password).
    return view.sealedName === undefined ? {} : groupNameOf(await this.keys(), view);
  }

  /** The groups this identity owns or belongs to. */
  async listGroups(): Promise<GroupView[]> {
    const { groups } = await this.api.listGroups();
    for (const g of groups) this.groupViews.set(g.groupId, g);
    return groups;
  }

  /**
   * Adds members (owner only): first to the E3Kit group key (they can read history), then on the
   * server (Sync access, presigned URLs). A retry after a failure half-way is safe.
   */
  async addMembers(groupId: string, members: string[]): Promise<GroupView> {
    const gid = parseId(GroupId, groupId, 'group id');
    const ids = [...new Set(members)].map((m) => parseId(Identity, m, `identity ${JSON.stringify(m)}`));
    const view = await this.ownedGroup(gid, 'add members');
    const others = ids.filter((m) => m !== view.owner);
    if (others.length === 0) throw new ConduitError('VALIDATION_FAILED', 'Name at least one identity to add.');
    const total = new Set([view.owner, ...view.members, ...others]).size;
    if (total > MAX_GROUP_MEMBERS) {
      throw new ConduitError(
        'VALIDATION_FAILED',
        `A group holds at most ${MAX_GROUP_MEMBERS} participants (E3Kit's limit); this would make ${total}. ` +
          'Split the members across several groups and send to each.',
      );
    }
    await (await this.keys()).add(gid, others);
    const updated = await this.api.addMembers(gid, { members: others });
    this.groupViews.set(gid, updated);
    return updated;
  }

  /**
   * Removes a member (owner only): a new E3Kit key epoch without it (it cannot decrypt anything
   * sent afterwards), then the server drops its Sync access, URLs and pending acknowledgements.
   * A member naming itself leaves the group (server side only: the owner's next removal or
   * change rolls the key).
   */
  async removeMember(groupId: string, identity: string): Promise<void> {
    const gid = parseId(GroupId, groupId, 'group id');
    const who = parseId(Identity, identity, 'identity');
    if (who === this.identity) {
      const view = await this.getGroup(gid);
      if (view.owner === who) throw new ConduitError('OWNER_CANNOT_LEAVE');
      await this.api.removeMember(gid, who);
      this.groupViews.delete(gid);
      return;
    }
    await this.ownedGroup(gid, 'remove members');
    await (await this.keys()).remove(gid, who);
    await this.api.removeMember(gid, who);
    this.groupViews.delete(gid);
  }

  /** Owner only: gives the group key again to a member that rotated its private key. */
  async reAddMember(groupId: string, identity: string): Promise<void> {
    const gid = parseId(GroupId, groupId, 'group id');
    const who = parseId(Identity, identity, 'identity');
    const view = await this.ownedGroup(gid, 're-add members');
    if (!view.members.includes(who)) {
      throw new ConduitError('VALIDATION_FAILED', `${who} is not a member of the group.`);
    }
    await (await this.keys()).reAdd(gid, who);
  }

  async getGroup(groupId: string): Promise<GroupView> {
    const id = parseId(GroupId, groupId, 'group id');
    const view = await this.api.getGroup(id);
    this.groupViews.set(id, view);
    return view;
  }

  /**
   * Encrypts a file for the group while uploading it (container v1 over S3 multipart, constant
   * memory), then hands its pointer to the server, which binds and publishes it. An interrupted
   * send of the same file to the same group resumes (see UploadOptions.resume).
   */
  async sendFile(groupId: string, filePath: string, opts: SendOptions = {}): Promise<SentFile> {
    const gid = parseId(GroupId, groupId, 'group id');
    const path = resolve(filePath);
    const name = opts.name ?? basename(path);
    const meta = FileMeta.safeParse({ name, type: opts.type ?? guessMediaType(name), size: 0 });
    if (!meta.success)
      throw new ConduitError('VALIDATION_FAILED', 'Invalid file name or type (1-255 / 1-127 characters).');
    const file = { name: meta.data.name, type: meta.data.type };

    const keys = await this.keys();
    const encrypt = await keys.encryptorFor(gid);
    const uploaded = await uploadFile(
      {
        api: this.api,
        store: new UploadStateStore(this.state.uploadsDir),
        keys: selfSealer(await this.ethree()),
        log: this.log,
      },
      gid,
      path,
      file,
      opts,
    );
    let envelope: string;
    try {
      envelope = await sealEnvelope({ ...uploaded, file, sender: this.endpoint, groupId: gid }, encrypt);
    } finally {
      uploaded.contentKey.fill(0);
    }
    progressEmitter({ direction: 'send', bytesTotal: uploaded.plainLength, name }, opts.onProgress)(
      'publishing',
      uploaded.plainLength,
    );

    const { pointerId, objectId } = uploaded;
    // The server binds the pointer in its ledger and publishes the Sync item (members only read
    // the map). A resumed send re-registers: the server re-publishes only while still pending.
    // Idempotent for this device: a 503 (Sync refused the publish) or a lost answer is retried.
    const reg = await withRetry(
      () => this.api.registerPointer(gid, { pointerId, objectId, size: uploaded.size, envelope }),
      {
        signal: opts.signal,
        retryable: (err): err is ConduitError =>
          isRetryable(err) || (err instanceof ConduitError && err.code === 'DEPENDENCY_UNAVAILABLE'),
      },
    );
    const pointer: PointerV1 = {
      v: 1,
      kind: 'file',
      id: pointerId,
      groupId: gid,
      sender: this.endpoint,
      objectId,
      size: uploaded.size,
      envelope,
      createdAt: reg.createdAt,
    };
    await uploaded.finish();
    progressEmitter({ direction: 'send', bytesTotal: uploaded.plainLength, name }, opts.onProgress)(
      'done',
      uploaded.plainLength,
    );
    this.log(`sent pointer ${pointerId} to ${reg.expected.length} endpoint(s)`);
    return {
      pointerId,
      objectId,
      plainLength: uploaded.plainLength,
      size: uploaded.size,
      resumed: uploaded.resumed,
      syncMap: reg.syncMap,
      itemKey: reg.itemKey,
      pointer,
    };
  }

  /**
   * Random access: plaintext bytes [start, end) of a shared file (end exclusive, at most 64 MiB),
   * fetching and verifying only the segments that cover them. `pointer` is a pointer of a group
   * this identity belongs to (e.g. SentFile.pointer, or a Sync item).
   */
  async readRange(pointer: unknown, start: number, end: number, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    const parsed = parsePointer(pointer);
    const decrypt = await (await this.keys()).decryptorFor(parsed.groupId, parsed.sender.identity);
    const envelope = await openEnvelope(parsed, decrypt);
    try {
      await new SenderDevices(this.api).check(parsed.groupId, envelope.sender, parsed.createdAt);
      return await readPlainRange(this.api, parsed, envelope, start, end, opts.signal);
    } finally {
      envelope.contentKey.fill(0);
    }
  }

  /**
   * The group's synced records on this endpoint (docs/records.md). One instance per group;
   * `merge` (set by the first call) resolves write conflicts (default: last writer wins).
   */
  records(groupId: string, opts: { merge?: MergeFn } = {}): Promise<RecordsClient> {
    this.assertOpen();
    const gid = parseId(GroupId, groupId, 'group id');
    let client = this.recordClients.get(gid);
    if (!client) {
      client = (async () => {
        const replica = await this.replica();
        return new RecordsClient({
          groupId: gid,
          self: this.endpoint,
          api: this.api,
          keys: await this.keys(),
          replica,
          merge: opts.merge,
          log: this.log,
          sign: receiptSigner(await this.ethree()),
          subscribe: async (onPointer) => {
            const view = this.groupViews.get(gid) ?? (await this.getGroup(gid));
            const unsubscribe = await this.subscribeMap(gid, view.syncMap || syncMapOf(gid), (key, data) => {
              if (!isRecordItem(data)) return; // files are receive()'s
              this.work = this.work
                .then(() => onPointer(parseAnyPointer(data) as RecordPointerV1))
                .catch(async (err: unknown) => {
                  const code = asConduitError(err).code;
                  this.log(`record pointer not applied: ${code}`);
                  // A record pointer that fails verification or is unknown to the ledger is
                  // reported (never acknowledged).
                  const kind =
                    code === 'POINTER_NOT_FOUND' ? 'unknown' : isVerificationFailure(err) ? 'unverifiable' : null;
                  if (kind && PointerId.safeParse(key).success) {
                    await this.api.reportAnomaly(gid, { pointerId: key, kind, code }).catch(() => {
                      this.log('record anomaly not reported');
                    });
                  }
                });
            });
            this.subscriptions.add(unsubscribe);
            return async () => {
              this.subscriptions.delete(unsubscribe);
              await unsubscribe().catch(() => undefined);
            };
          },
        });
      })();
      client.catch(() => this.recordClients.delete(gid));
      this.recordClients.set(gid, client);
    }
    return client;
  }

  /** Receives the group's files into `outDir` until `signal` aborts (or the client closes). */
  async receive(groupId: string, opts: ReceiveOptions): Promise<void> {
    const stop = await this.subscribe(groupId, opts);
    try {
      await waitForAbort(opts.signal, this.closing.signal);
    } finally {
      await stop();
    }
  }

  /** Waits for the next file of the group (pointers already present count), or fails with TIMEOUT. */
  async receiveNext(
    groupId: string,
    opts: { outDir: string; timeoutMs: number } & ReceiveTransferOptions,
  ): Promise<ReceivedFile> {
    let lastError: ConduitError | undefined;
    let settle!: (file: ReceivedFile | undefined) => void;
    const next = new Promise<ReceivedFile | undefined>((resolve) => (settle = resolve));
    const timer = setTimeout(() => settle(undefined), opts.timeoutMs);
    const stop = await this.subscribe(
      groupId,
      {
        outDir: opts.outDir,
        concurrency: opts.concurrency,
        onProgress: opts.onProgress,
        onFile: (file) => settle(file),
        onError: (err) => (lastError = err),
      },
      true,
    ).catch((err: unknown) => {
      clearTimeout(timer);
      throw err;
    });
    try {
      const file = await next;
      if (file) return file;
      const why = lastError ? ` (last problem: ${lastError.code}: ${lastError.message})` : '';
      throw new ConduitError('TIMEOUT', `No file arrived within ${opts.timeoutMs} ms${why}.`);
    } finally {
      clearTimeout(timer);
      await stop();
    }
  }

  /**
   * The pointer's delivery status, each receipt checked against its receiver's card: a receipt
   * the receiver's key did not sign shows as 'invalid-signature' (the server cannot fake delivery).
   */
  async status(pointerId: string): Promise<DeliveryStatus> {
    const status = await this.api.pointerStatus(parseId(PointerId, pointerId, 'pointer id'));
    const ethree = await this.ethree();
    // Receivers' cards come from the pins: a substituted card is IDENTITY_CHANGED, not a valid receipt.
    const pinned = await this.pins.cards();
    const cardOf: CardOf = (identity) => pinned.cardOf(identity);
    return verifyDelivery(status, cardOf, (card, statement, signature) =>
      verifyReceipt(ethree, card, statement, signature),
    );
  }

  /** Stops receiving, closes the Sync connection and releases E3Kit's local storage. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    await Promise.allSettled([...this.subscriptions].map((stop) => stop()));
    await this.work;
    const channel = await this.channelPromise?.catch(() => undefined);
    await channel?.close().catch(() => undefined);
    const ethree = await this.ethreePromise?.catch(() => undefined);
    if (ethree) await closeEThree(ethree).catch(() => undefined);
    (await this.replicaPromise?.catch(() => undefined))?.close();
    (await this.keyStorePromise?.catch(() => undefined))?.lock();
  }

  /** Subscribes to the group's map; with `once`, stops handling items after the first file. */
  /**
   * Subscribes to a group's map. A map this member cannot open (deleted behind the server's back,
   * or its grant lost) is restored by the server on request, then opened once more; an outsider's
   * request fails with GROUP_NOT_FOUND.
   */
  private async subscribeMap(
    gid: GroupId,
    map: string,
    onItem: (key: string, data: unknown) => void,
    onRemoved?: (key: string) => void,
  ): Promise<() => Promise<void>> {
    const channel = await this.channel();
    try {
      return await channel.subscribe(map, onItem, onRemoved);
    } catch (err) {
      const code = asConduitError(err).code;
      if (code !== 'FORBIDDEN' && code !== 'NOT_FOUND') throw err;
      await this.api.restoreGroupSync(gid);
      return channel.subscribe(map, onItem, onRemoved);
    }
  }

  private async subscribe(groupId: string, opts: ReceiveOptions, once = false): Promise<() => Promise<void>> {
    this.assertOpen();
    const gid = parseId(GroupId, groupId, 'group id');
    const view = this.groupViews.get(gid) ?? (await this.getGroup(gid));
    const ctx: ReceiveContext = {
      self: this.endpoint,
      groupId: gid,
      outDir: opts.outDir,
      api: this.api,
      keys: await this.keys(),
      senderDevices: new SenderDevices(this.api),
      sign: receiptSigner(await this.ethree()),
      received: this.received,
      downloads: new DownloadStateStore(this.state.downloadsDir),
      log: this.log,
      transfer: { concurrency: opts.concurrency, onProgress: opts.onProgress },
      signal: opts.signal ?? this.closing.signal,
    };
    const onError =
      opts.onError ?? ((err: ConduitError) => this.log(`pointer not received: ${err.code}: ${err.message}`));
    let active = true;
    // File pointers seen in this session: a removal before this endpoint finished with one is reported.
    const seenFiles = new Set<PointerId>();
    // File pointers that failed for a transient reason (an outage) are tried again with backoff.
    const retries = new RetryQueue<unknown>((_id, data) => enqueue(() => handle(data)));
    const handle = async (data: unknown): Promise<void> => {
      if (!active) return;
      let file: ReceivedFile | undefined;
      let fileId: PointerId | undefined;
      try {
        // The map carries file and record pointers: records go to the group's replica.
        const pointer = parseAnyPointer(data);
        if (pointer.kind === 'record') return await (await this.records(gid)).receive(pointer);
        fileId = pointer.id;
        seenFiles.add(pointer.id);
        file = await receivePointer(ctx, data);
        retries.done(pointer.id);
      } catch (err) {
        const error = asConduitError(err);
        if (fileId !== undefined && active) retries.failed(fileId, data, error);
        onError(error);
        return;
      }
      if (!file) return;
      if (once) active = false;
      opts.onFile?.(file);
    };
    const vanished = async (key: string): Promise<void> => {
      const id = key as PointerId;
      retries.done(id);
      if (!active || !seenFiles.has(id) || isFinal(this.received.get(id))) return;
      await reportAnomaly(
        { groupId: gid, api: this.api, received: this.received, log: this.log },
        id,
        'vanished',
        'POINTER_NOT_FOUND',
      );
      onError(new ConduitError('POINTER_NOT_FOUND', `Pointer ${id} was removed before this endpoint received it.`));
    };
    // The chain must never reject: a stray rejection would abort the process (see crypto/).
    const enqueue = (step: () => Promise<void>): void => {
      this.work = this.work
        .then(step)
        .catch((err: unknown) => this.log(`receive callback failed: ${asConduitError(err).code}`));
    };
    const unsubscribe = await this.subscribeMap(
      gid,
      view.syncMap || syncMapOf(gid),
      (_key, data) => enqueue(() => handle(data)),
      (key) => enqueue(() => vanished(key)),
    );
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      active = false;
      retries.close();
      this.subscriptions.delete(stop);
      await unsubscribe().catch(() => undefined);
    };
    this.subscriptions.add(stop);
    return stop;
  }

  /** An OPAQUE login (migrating a pre-OPAQUE account first); returns the key backup's secret. */
  private async startSession(password: string): Promise<string> {
    const result = await opaqueAuth.login(this.api, this.identity, password, this.state.deviceId);
    if (result.legacy) {
      await this.migrateLegacyAccount(password);
      return this.startSession(password);
    }
    await this.openSession(result.session);
    return result.backup;
  }

  private async openSession(session: SessionResponse): Promise<void> {
    await this.state.saveSession({ token: session.token, expiresAt: session.expiresAt });
    this.api.setSession(session.token);
    await this.api.registerDevice(this.state.deviceId);
  }

  /**
   * docs/identity.md, "Migration": logs in the old way, re-encrypts the key backup from the
   * legacy secret to the OPAQUE export key's, and replaces the legacy hash by an OPAQUE record.
   */
  private async migrateLegacyAccount(password: string): Promise<void> {
    const legacy = legacyPasswords(password);
    const { identity, deviceId } = this.state;
    await this.openSession(await this.api.login({ identity, password: legacy.login, deviceId }));
    await this.unlockAfterLogin(password);
    await initPythiaWasm();
    const change = await opaqueAuth.startMigration(this.api, identity, password, legacy.login);
    await reregisterWithBackup(await this.ethree(), this.api, legacy.backup, change, this.log);
    this.log('account migrated to OPAQUE password authentication');
  }

  /** The group's view, if this identity owns it; E3Kit lets only a group's creator change it. */
  private async ownedGroup(groupId: GroupId, action: string): Promise<GroupView> {
    const view = await this.getGroup(groupId);
    if (view.owner !== this.identity) {
      throw new ConduitError(
        'FORBIDDEN',
        `Only the group owner (${view.owner}) can ${action}: E3Kit lets only a group's creator change it. Ask the owner.`,
      );
    }
    return view;
  }

  private get keyStorePath(): string {
    return join(this.state.e3kitDir, 'keystore.json');
  }

  /** The unlocked key store; unlocks it with `password`, or else asks `keyPassword`. */
  private keyStore(password?: string): Promise<EncryptedKeyStore> {
    this.assertOpen();
    if (!this.keyStorePromise) {
      const unlocking = (async () => {
        const pw = password ?? (await this.opts.keyPassword?.());
        if (pw === undefined) {
          throw new ConduitError(
            'UNAUTHENTICATED',
            "This device's key store is locked: log in, or give the password (unlock / keyPassword).",
          );
        }
        return EncryptedKeyStore.unlock(this.keyStorePath, pw);
      })();
      unlocking.catch(() => {
        if (this.keyStorePromise === unlocking) this.keyStorePromise = undefined;
      });
      this.keyStorePromise = unlocking;
    }
    return this.keyStorePromise;
  }

  /**
   * Unlocks the key store with a password the server has just accepted. If it does not open the
   * store, the password was changed on another device: the store (sealed under the old password)
   * is set aside, still encrypted, and the key comes back from the backup.
   */
  private async unlockAfterLogin(password: string): Promise<void> {
    try {
      await this.keyStore(password);
    } catch (err) {
      if (!(err instanceof ConduitError && err.code === 'INVALID_CREDENTIALS')) throw err;
      const aside = `${this.keyStorePath}.stale-${Date.now()}`;
      await rename(this.keyStorePath, aside);
      this.log(`key store sealed under an older password moved to ${aside}`);
      await this.keyStore(password);
    }
  }

  /**
   * Makes sure this device holds the identity's private key: restore it from the backup, or
   * create and publish one (and back it up) when the identity has none yet. Running this again
   * after an interrupted registration completes it.
   */
  private async ensurePrivateKey(backupPassword: string, isNew: boolean): Promise<void> {
    await initPythiaWasm(); // the key backup derives its key with Pythia
    const ethree = await this.ethree();
    if (await virgil('Reading the local key', () => ethree.hasLocalPrivateKey())) return;
    if (!isNew && (await lifecycle.restoreFromBackup(ethree, backupPassword))) return;
    try {
      await ethree.register();
    } catch (err) {
      if ((err as { name?: unknown }).name !== 'IdentityAlreadyExistsError')
        throw fromVirgilError(err, 'Registering the key');
      if (isNew && (await lifecycle.restoreFromBackup(ethree, backupPassword))) return;
      throw new ConduitError('CONFIG', 'This identity has a public key but no key backup: its private key is lost.');
    }
    await virgil('Backing up the private key', () => ethree.backupPrivateKey(backupPassword));
  }

  private ethree(): Promise<EThree> {
    this.assertOpen();
    if (!this.ethreePromise) {
      const opening = (async (): Promise<EThree> => {
        await initVirgilWasm();
        const keyEntryStorage = await this.keyStore();
        return virgil('Opening the key store', () =>
          openEThree({
            keyEntryStorage,
            identity: this.identity,
            storageDir: this.state.e3kitDir,
            apiUrl: this.opts.virgilApiUrl,
            servicePublicKey: this.opts.virgilServicePublicKey,
            getToken: async () => (await this.api.virgilToken()).token,
          }),
        );
      })();
      // A failed attempt (e.g. server down) must not poison later ones.
      opening.catch(() => {
        if (this.ethreePromise === opening) this.ethreePromise = undefined;
      });
      this.ethreePromise = opening;
    }
    return this.ethreePromise;
  }

  private replica(): Promise<Replica> {
    if (!this.replicaPromise) {
      const opening = (async () =>
        openReplica(join(this.opts.home, this.identity), selfSealer(await this.ethree()), this.log))();
      opening.catch(() => {
        if (this.replicaPromise === opening) this.replicaPromise = undefined;
      });
      this.replicaPromise = opening;
    }
    return this.replicaPromise;
  }

  private async keys(): Promise<GroupKeys> {
    if (!this.groupKeys) {
      const ethree = await this.ethree();
      const pinned = await this.pins.cards();
      this.groupKeys ??= new GroupKeys(
        ethree,
        async (gid) => {
          const view = this.groupViews.get(gid) ?? (await this.getGroup(gid));
          return view.owner;
        },
        pinned,
      );
    }
    return this.groupKeys;
  }

  private channel(): Promise<PointerChannel> {
    this.assertOpen();
    if (!this.channelPromise) {
      // Loaded on first use (~20 MiB of code and heap): a send only needs it after its upload.
      const connecting: Promise<PointerChannel> = import('./adapters/twilio-sync-channel.js').then(
        ({ TwilioSyncChannel }) =>
          TwilioSyncChannel.connect({
            getToken: async () => (await this.api.syncToken()).token,
            twilsockUri: this.opts.twilsockUri,
            // A refused refresh (DEVICE_REVOKED) ends Sync access when the current token expires.
            onError: (err) => {
              const e = asConduitError(err);
              this.log(`sync: ${e.code}: ${e.message}`);
            },
          }),
      );
      connecting.catch(() => {
        if (this.channelPromise === connecting) this.channelPromise = undefined;
      });
      this.channelPromise = connecting;
    }
    return this.channelPromise;
  }

  private assertOpen(): void {
    if (this.closed) throw new ConduitError('CONFIG', 'The client is closed.');
  }
}

/** A record pointer's Sync item (validated by parseAnyPointer before use). */
const isRecordItem = (data: unknown): boolean =>
  typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'record';

/** Anything a pointer's handling can throw, as a typed error (file system errors keep their errno code). */
function asConduitError(err: unknown): ConduitError {
  if (err instanceof ConduitError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return new ConduitError('CONFIG', `Could not write the file (${code}).`);
  return new ConduitError('INTERNAL', 'Receiving a pointer failed unexpectedly.');
}

function parseId<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  value: string,
  what: string,
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConduitError('VALIDATION_FAILED', `Invalid ${what}.`);
  return parsed.data;
}
