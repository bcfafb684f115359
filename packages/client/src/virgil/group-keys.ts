import type { EThree } from '@virgilsecurity/e3kit-node';
import type { GroupId, Identity } from '@conduit/shared';
import type { DecryptEnvelope, EncryptEnvelope } from '../files/envelope.js';
import { ConduitError, MAX_GROUP_MEMBERS } from '@conduit/shared';
import type { Card, PinnedCards } from '../trust/pinned-cards.js';
import { fromVirgilError, virgil } from './errors.js';

type Group = Awaited<ReturnType<EThree['loadGroup']>>;

const GROUP_IS_OUTDATED = 10; // e3kit GroupErrorCode.GroupIsOutdated

/**
 * E3Kit group keys of one identity: creating groups, loading them, and binding their cipher.
 * Every card comes from the pinned lookup (docs/identity.md): no group key is shared with, and no
 * envelope accepted from, a key this endpoint has not pinned or followed by a signed chain.
 */
export class GroupKeys {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly ethree: EThree,
    /** The group's initiator, whose card loadGroup needs (asked of the server, checked against the pin). */
    private readonly ownerOf: (groupId: GroupId) => Promise<Identity>,
    private readonly pinned: PinnedCards,
  ) {}

  async create(groupId: GroupId, members: Identity[]): Promise<void> {
    const cards = Object.fromEntries(await this.pinned.cards(members));
    await this.pinned.checkGroupOwner(groupId, this.ethree.identity);
    const group = await virgil('Creating the group key', () =>
      members.length === 0 ? this.ethree.createGroup(groupId) : this.ethree.createGroup(groupId, cards),
    );
    this.groups.set(groupId, group);
  }

  /**
   * The group is gone (deleted): its key leaves memory and E3Kit's local group storage. For the
   * group's initiator E3Kit also deletes the group's tickets from Keyknox, so nobody can load the
   * key from the directory again (crypto-shredding); for a member it drops the local copy only.
   */
  async drop(groupId: GroupId): Promise<void> {
    this.groups.delete(groupId);
    await virgil('Deleting the group key', () => this.ethree.deleteGroup(groupId));
  }

  /** Best-effort undo of `create` when the server refuses the group. */
  async discard(groupId: GroupId): Promise<void> {
    this.groups.delete(groupId);
    await this.ethree.deleteGroup(groupId).catch(() => undefined);
  }

  /**
   * Gives `identities` the group key, history included (E3Kit adds without a new epoch). Only the
   * owner can; identities that already hold it are skipped, so a retry after a failure is safe.
   */
  async add(groupId: GroupId, identities: Identity[]): Promise<void> {
    const group = await this.load(groupId);
    const fresh = identities.filter((i) => !group.participants.includes(i));
    if (fresh.length === 0) return;
    if (group.participants.length + fresh.length > MAX_GROUP_MEMBERS) {
      throw new ConduitError(
        'VALIDATION_FAILED',
        `A group holds at most ${MAX_GROUP_MEMBERS} participants (it has ${group.participants.length}); split the members across several groups.`,
      );
    }
    const cards = Object.fromEntries(await this.pinned.cards(fresh));
    await virgil('Adding members to the group key', () => group.add(cards));
  }

  /**
   * Starts a new key epoch without `identity`: it cannot decrypt anything sealed afterwards.
   * Skipped when it holds no key already (a retry after a failure is safe).
   */
  async remove(groupId: GroupId, identity: Identity): Promise<void> {
    const group = await this.load(groupId);
    if (!group.participants.includes(identity)) return;
    // E3Kit seals the new epoch for the remaining participants' directory cards itself: check
    // them against the pins first. Of the removed identity's card, group.remove reads only the
    // identity (nothing is sealed for it; its cloud ticket access is revoked by name), so a
    // name-only stand-in removes also a member whose card is gone (unregistered: issue 11).
    await this.pinned.cards(group.participants.filter((p) => p !== identity));
    const removed = { identity, publicKey: null } as unknown as Card;
    await virgil('Removing the member from the group key', () => group.remove(removed));
  }

  /** Re-encrypts every epoch of the group key for `identity`'s current card (after it rotated its key). */
  async reAdd(groupId: GroupId, identity: Identity): Promise<void> {
    const group = await this.load(groupId);
    if (!group.participants.includes(identity)) {
      throw new ConduitError('VALIDATION_FAILED', `${identity} is not a participant of the group key; add it instead.`);
    }
    const card = await this.pinned.cardOf(identity);
    await virgil('Re-adding the member to the group key', () => group.reAdd(card));
  }

  /** Drops cached groups, e.g. after this identity's key changed. */
  forget(): void {
    this.groups.clear();
  }

  /**
   * The sender's cipher. Always the latest epoch from the cloud: a stale local copy could still
   * include members the owner has since removed. Every participant's card is checked against the
   * pins first (one lookup): nothing is sent to a group one of whose keys changed unexplained.
   */
  async encryptorFor(groupId: GroupId): Promise<EncryptEnvelope> {
    const group = await this.load(groupId);
    await this.pinned.cards(group.participants, { allowMissing: true });
    return async (plaintext) => toBuffer(await virgil('Sealing the envelope', () => group.encrypt(plaintext)));
  }

  /**
   * A cipher that opens envelopes and verifies they were signed by `sender`'s pinned card; for a
   * deleted sender, by its retired card, and only what was sent before that card's revocation.
   */
  async decryptorFor(groupId: GroupId, sender: Identity): Promise<DecryptEnvelope> {
    let group = this.groups.get(groupId) ?? (await this.load(groupId));
    const { card, revokedAt } = await this.pinned.senderCard(sender);
    return async (sealed, sentAt) => {
      if (revokedAt !== undefined) assertSentBefore(sender, revokedAt, sentAt);
      try {
        return toBuffer(await group.decrypt(sealed, card));
      } catch (err) {
        if ((err as { errorCode?: unknown }).errorCode !== GROUP_IS_OUTDATED) {
          throw fromVirgilError(err, 'Opening the envelope');
        }
        // Sealed under an epoch newer than ours: reload once (tickets checked against the pinned
        // owner's key; E3Kit's group.update() would take the owner's card from the directory).
        group = await this.load(groupId, 'Updating the group key');
        return toBuffer(await virgil('Opening the envelope', () => group.decrypt(sealed, card)));
      }
    };
  }

  private async load(groupId: GroupId, action = 'Loading the group key'): Promise<Group> {
    const owner = await this.ownerOf(groupId);
    await this.pinned.checkGroupOwner(groupId, owner);
    // The owner signs the group's tickets: E3Kit verifies them against this (pinned) card.
    const ownerCard = await this.pinned.cardOf(owner);
    const group = await virgil(action, () => this.ethree.loadGroup(groupId, ownerCard)).catch((err: unknown) => {
      // The server knows the group (ownerOf answered), so E3Kit finding none means no ticket is
      // sealed for this identity's current key: it rotated its key, or was never given one.
      if (err instanceof ConduitError && err.code === 'GROUP_NOT_FOUND') {
        throw new ConduitError(
          'NOT_GROUP_MEMBER',
          "No group key for this identity's current private key: after a key rotation, the group owner must re-add it (`conduit group readd`).",
          undefined,
          { cause: err },
        );
      }
      throw err;
    });
    this.groups.set(groupId, group);
    return group;
  }
}

/**
 * A retired card verifies only what the server registered before it revoked the card; a time it
 * does not state (or cannot be read) is refused. Both times are the server's (docs/security.md).
 */
function assertSentBefore(sender: Identity, revokedAt: string, sentAt: string | undefined): void {
  const sent = sentAt === undefined ? NaN : Date.parse(sentAt);
  if (!(sent < Date.parse(revokedAt))) {
    throw new ConduitError(
      'SENDER_DEVICE_REVOKED',
      `${sender} was deleted and its key revoked at ${revokedAt}: nothing sent from then on is accepted.`,
    );
  }
}

/** Given Buffer input, E3Kit answers with a Buffer (strings only for string input). */
function toBuffer(data: string | Buffer): Buffer {
  if (typeof data === 'string') throw new ConduitError('INTERNAL', 'Unexpected string from the group cipher.');
  return data;
}
