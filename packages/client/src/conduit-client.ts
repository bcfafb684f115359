import type {
  Endpoint,
  GroupRetentionPolicy,
  GroupRetentionView,
  GroupView,
  Identity,
  IdentityDeletionReport,
  PointerWithdrawn,
} from '@conduit/shared';
import { checkedStatus } from './delivery/checked-status.js';
import type { DeliveryStatus } from './delivery/status.js';
import { GroupFeed } from './feed/group-feed.js';
import { readRange } from './files/read-range.js';
import { FileReceiver } from './files/receiver.js';
import type { ReceiveOptions, ReceiveTransferOptions } from './files/receiver.js';
import { sendFile } from './files/send.js';
import { withdrawFile } from './files/withdrawn.js';
import type { SendOptions, SentFile } from './files/send.js';
import { Groups } from './groups/groups.js';
import type { ConduitClientOptions } from './client-options.js';
import { Account, type LogoutResult } from './identity/account.js';
import { Devices } from './identity/devices.js';
import * as providerSecrets from './identity/provider-secrets.js';
import type { NamedDevice } from './names/names.js';
import type { OpenedName } from './names/sealed-name.js';
import { nodePlatform } from './platform/node.js';
import type { Platform } from './platform/platform.js';
import type { ReceivedFile } from './receive-pointer.js';
import { GroupRecords } from './records/group-records.js';
import type { RecordsOptions } from './records/group-records.js';
import type { RecordsClient } from './records/records-client.js';
import { ClientSession } from './session/session.js';
import type { SessionDeps } from './session/session.js';
import type { ConfirmTrust, SafetyNumberReport, TrustReport } from './trust/verification.js';

export type { ReceiveOptions, ReceiveTransferOptions } from './files/receiver.js';
export type { SendOptions, SentFile } from './files/send.js';
export type { ConduitClientOptions } from './client-options.js';

/**
 * One identity on one device: account and key setup, groups, sending and receiving files.
 * Plaintext only exists in memory and in the files the user asked to send or receive.
 *
 * A facade: each job lives in its own module (identity/, groups/, files/, records/, delivery/),
 * over one ClientSession that owns the lazily created resources and one GroupFeed that routes
 * each group's Sync map.
 */
export class ConduitClient {
  private readonly session: ClientSession;
  private readonly account: Account;
  private readonly devices: Devices;
  private readonly groups: Groups;
  private readonly feed: GroupFeed;
  private readonly receiver: FileReceiver;
  private readonly groupRecords: GroupRecords;

  private constructor(deps: Omit<SessionDeps, 'ownerOf'>) {
    // Group keys check epochs against the owner's signature: the owner comes from the group's view.
    const session = new ClientSession({ ...deps, ownerOf: (gid) => this.groups.ownerOf(gid) });
    this.session = session;
    this.account = new Account(session);
    this.devices = new Devices(session);
    this.groups = new Groups(session);
    this.groupRecords = new GroupRecords(session, () => this.feed);
    this.feed = new GroupFeed({
      session,
      mapOf: (gid) => this.groups.mapOf(gid),
      notifyRecords: async (gid, notification) => (await this.groupRecords.of(gid)).notify(notification),
    });
    this.receiver = new FileReceiver(session, this.feed, this.groups);
  }

  /** Opens the identity's local state on this device; `platform` is the runtime (Node's by default). */
  static async open(opts: ConduitClientOptions, platform: Platform = nodePlatform): Promise<ConduitClient> {
    return new ConduitClient(await ClientSession.load(opts, platform));
  }

  get identity(): Identity {
    return this.session.identity;
  }

  get deviceId(): string {
    return this.session.state.deviceId;
  }

  get endpoint(): Endpoint {
    return this.session.endpoint;
  }

  /**
   * Creates the account (OPAQUE; a reserved name needs the operator's `registrationCode`),
   * registers this device, the public key, and a password backup of the private key.
   */
  register(password: string, registrationCode?: string): Promise<void> {
    return this.account.register(password, registrationCode);
  }

  /** Starts a session; on a device without the private key, restores it from the password backup. */
  login(password: string): Promise<void> {
    return this.account.login(password);
  }

  /**
   * OIDC mode (`idToken` set): enrolls this device and restores the private key from its backup, or
   * creates, publishes and backs up one for a new identity. `keyPassphrase` (8-256 characters)
   * never leaves the device: it opens the local key store and derives the backup's secret.
   */
  loginWithProvider(keyPassphrase: string): Promise<void> {
    return this.account.loginWithProvider(keyPassphrase);
  }

  /** Keeps an identity provider's refresh token in the encrypted key store (unlocks it if needed). */
  async saveRefreshToken(token: string): Promise<void> {
    await providerSecrets.saveRefreshToken(await this.session.keyStore(), token);
  }

  /** The refresh token saved with saveRefreshToken, if any. */
  async refreshToken(): Promise<string | undefined> {
    return providerSecrets.loadRefreshToken(await this.session.keyStore());
  }

  /** Deletes the saved refresh token; true if there was one. */
  async forgetRefreshToken(): Promise<boolean> {
    return providerSecrets.forgetRefreshToken(await this.session.keyStore());
  }

  /**
   * Logs this device out: the server ends every session of this device (a copied token stops
   * working too), and the stored session is forgotten. The private key stays in the key store;
   * `login` opens a new session. Other devices of the identity are not affected.
   */
  logout(): Promise<LogoutResult> {
    return this.account.logout();
  }

  /**
   * Unlocks this device's key store (the private key is encrypted at rest under a key derived
   * from the password; docs/identity.md). login and register unlock it too. A wrong password
   * fails with INVALID_CREDENTIALS.
   */
  unlock(password: string): Promise<void> {
    return this.account.unlock(password);
  }

  /** Explicit restore: replaces this device's private key with the one in the password backup. */
  restoreKey(password: string): Promise<void> {
    return this.account.restoreKey(password);
  }

  /** Backs the private key up under the password (register does it already); 'exists' if there is one. */
  backupKey(password: string): Promise<'created' | 'exists'> {
    return this.account.backupKey(password);
  }

  /**
   * Replaces a lost or compromised private key with a new one (new card superseding the old, new
   * backup). Afterwards each group's owner must run reAddMember for this identity, and this
   * identity's other devices must run restoreKey.
   */
  rotateKey(password: string): Promise<void> {
    return this.account.rotateKey(password);
  }

  /**
   * The safety number between this identity's key (this device's) and `identity`'s pinned card
   * (pinned now if it was not yet): equal on both ends when neither key was substituted. Compare
   * it out of band (docs/identity.md).
   */
  safetyNumber(identity: string): Promise<SafetyNumberReport> {
    return this.session.pins.safetyNumber(identity);
  }

  /**
   * Accepts `identity`'s current card as its key (after comparing safety numbers out of band):
   * re-pins it, keeping the replaced pin in the history. Ends IDENTITY_CHANGED for that identity.
   * `confirm` sees the new card's safety number first and may cancel (VALIDATION_FAILED).
   */
  trust(identity: string, opts: { confirm?: ConfirmTrust } = {}): Promise<TrustReport> {
    return this.session.pins.trust(identity, opts.confirm);
  }

  /**
   * Changes the password: the server's OPAQUE record (after a fresh login proof), the key
   * backup's secret and this device's key store's. The server ends every session of the identity
   * (all devices); this device logs in again with the new password.
   */
  changePassword(oldPassword: string, newPassword: string): Promise<void> {
    return this.account.changePassword(oldPassword, newPassword);
  }

  /**
   * Deletes the key backup, revokes the public key, removes this device from the server and wipes
   * this identity's local state. The client is closed afterwards. The server account stays (to
   * erase it too, see deleteIdentity).
   */
  unregister(password: string): Promise<void> {
    return this.account.unregister(password);
  }

  /**
   * Deletes this identity for good (docs/lifecycle.md#deleting-an-identity): the server erases the
   * account, devices, sessions, memberships, cards and key backups (and, as the deployment says,
   * the files it sent), then this identity's local state is wiped and the client closed. Dev mode
   * proves `password` afresh; OIDC mode passes undefined and needs an ID token from a recent
   * sign-in. Refused, with nothing changed, under a legal hold (LEGAL_HOLD) or while the identity
   * owns groups unless `withGroups` (IDENTITY_OWNS_GROUPS). With `withGroups` the owned groups are
   * deleted first, each as deleteGroup (a hold on one stops there). Repeating it after a failure finishes it.
   */
  async deleteIdentity(
    password: string | undefined,
    opts: { withGroups?: boolean } = {},
  ): Promise<IdentityDeletionReport> {
    if (opts.withGroups) {
      // Each owned group goes as deleteGroup does, its key deleted in the directory by this device:
      // once the identity is gone nobody could delete those key tickets any more.
      for (const group of await this.groups.list()) {
        if (group.owner === this.identity) await this.groups.delete(group.groupId);
      }
    }
    return this.account.deleteIdentity(password, opts);
  }

  /** This identity's registered devices (endpoints), with their names where they open. */
  listDevices(): Promise<NamedDevice[]> {
    return this.devices.list();
  }

  /** Names one of this identity's devices (sealed for this identity only; the server sees ciphertext). */
  renameDevice(deviceId: string, name: string): Promise<void> {
    return this.devices.rename(deviceId, name);
  }

  /**
   * Revokes a device of this identity for good: the server refuses its sessions at once (and its
   * id thereafter), and drops its pending acknowledgements. Revoking this very device also
   * forgets its session.
   */
  revokeDevice(deviceId: string): Promise<void> {
    return this.devices.revoke(deviceId);
  }

  /**
   * Creates a group of this identity (the owner) and `members`, with a fresh E3Kit group key, and
   * names it (see renameGroup) when `name` is given.
   */
  createGroup(members: string[], opts: { name?: string } = {}): Promise<GroupView> {
    return this.groups.create(members, opts);
  }

  /**
   * Owner only: names the group. The name is sealed with the group key's latest epoch and signed
   * by the owner; the server stores only the ciphertext and the latest one wins.
   */
  renameGroup(groupId: string, name: string): Promise<GroupView> {
    return this.groups.rename(groupId, name);
  }

  /** The group's name if it opens and was sealed by its (pinned) owner for it; else why not. */
  groupName(view: GroupView): Promise<OpenedName> {
    return this.groups.nameOf(view);
  }

  /** The groups this identity owns or belongs to. */
  listGroups(): Promise<GroupView[]> {
    return this.groups.list();
  }

  /**
   * Adds members (owner only): first to the E3Kit group key (they can read history), then on the
   * server (Sync access, presigned URLs). A retry after a failure half-way is safe.
   */
  addMembers(groupId: string, members: string[]): Promise<GroupView> {
    return this.groups.addMembers(groupId, members);
  }

  /**
   * Removes a member (owner only): a new E3Kit key epoch without it (it cannot decrypt anything
   * sent afterwards), then the server drops its Sync access, URLs and pending acknowledgements.
   * A member naming itself leaves the group (server side only: the owner's next removal or
   * change rolls the key).
   */
  removeMember(groupId: string, identity: string): Promise<void> {
    return this.groups.removeMember(groupId, identity);
  }

  /** Owner only: gives the group key again to a member that rotated its private key. */
  reAddMember(groupId: string, identity: string): Promise<void> {
    return this.groups.reAddMember(groupId, identity);
  }

  /**
   * Deletes a group this identity owns: the server deletes everything it stored for it (members'
   * access ends at once) and its key material is deleted from the directory and this device.
   * LEGAL_HOLD when a hold covers the group or a participant; FORBIDDEN for members.
   */
  deleteGroup(groupId: string): Promise<{ groupId: string; state: 'deleting' }> {
    return this.groups.delete(groupId);
  }

  getGroup(groupId: string): Promise<GroupView> {
    return this.groups.get(groupId);
  }

  /**
   * The group's retention rules (docs/lifecycle.md#policies): its own `policy`, and per class
   * (`files`, `records`) the rule in `effect` with its source (`group` or `deployment`). Members.
   */
  groupRetention(groupId: string): Promise<GroupRetentionView> {
    return this.groups.retention(groupId);
  }

  /**
   * Owner only: replaces the group's retention rules (an absent class follows the deployment,
   * `{}` clears both); resolves with the rules now in effect. A malformed rule is
   * VALIDATION_FAILED before any request; FORBIDDEN for members.
   */
  setGroupRetention(groupId: string, policy: GroupRetentionPolicy): Promise<GroupRetentionView> {
    return this.groups.setRetention(groupId, policy);
  }

  /**
   * Encrypts a file for the group while uploading it (container v1 over S3 multipart, constant
   * memory), then hands its pointer to the server, which binds and publishes it. An interrupted
   * send of the same file to the same group resumes (see UploadOptions.resume).
   */
  sendFile(groupId: string, filePath: string, opts: SendOptions = {}): Promise<SentFile> {
    return sendFile(this.session, groupId, filePath, opts);
  }

  /**
   * Random access: plaintext bytes [start, end) of a shared file (end exclusive, at most 64 MiB),
   * fetching and verifying only the segments that cover them. `pointer` is a pointer of a group
   * this identity belongs to (e.g. SentFile.pointer, or a Sync item).
   */
  readRange(pointer: unknown, start: number, end: number, opts: { signal?: AbortSignal } = {}): Promise<Buffer> {
    return readRange(this.session, pointer, start, end, opts.signal);
  }

  /**
   * The group's synced records on this endpoint (docs/records.md). One instance per group;
   * the options are set by the first call: `merge` resolves write conflicts (default: last writer
   * wins), values whose JSON is at most `inlineMaxBytes` (default 4096, at most 8192) travel
   * inside the sealed envelope instead of S3.
   */
  records(groupId: string, opts: RecordsOptions = {}): Promise<RecordsClient> {
    return this.groupRecords.of(groupId, opts);
  }

  /** Receives the group's files into `outDir` until `signal` aborts (or the client closes). */
  receive(groupId: string, opts: ReceiveOptions): Promise<void> {
    return this.receiver.receive(groupId, opts);
  }

  /** Waits for the next file of the group (pointers already present count), or fails with TIMEOUT. */
  receiveNext(
    groupId: string,
    opts: { outDir: string; timeoutMs: number } & ReceiveTransferOptions,
  ): Promise<ReceivedFile> {
    return this.receiver.receiveNext(groupId, opts);
  }

  /**
   * The pointer's delivery status, each receipt checked against its receiver's card: a receipt
   * the receiver's key did not sign shows as 'invalid-signature' (the server cannot fake delivery).
   */
  status(pointerId: string): Promise<DeliveryStatus> {
    return checkedStatus(this.session, pointerId);
  }

  /**
   * Withdraws a file this identity sent, or any file of a group it owns: the server deletes its
   * Sync item and ciphertext and ends its delivery; receivers that have not received it get
   * FILE_WITHDRAWN (docs/lifecycle.md). Idempotent. LEGAL_HOLD when a hold covers the group or sender.
   */
  withdraw(pointerId: string): Promise<PointerWithdrawn> {
    return withdrawFile(this.session, pointerId);
  }

  /** Stops receiving, closes the Sync connection and releases E3Kit's local storage. */
  close(): Promise<void> {
    return this.session.close();
  }
}
