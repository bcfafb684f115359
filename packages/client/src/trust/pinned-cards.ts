import type { EThree } from '@virgilsecurity/e3kit-node';
import { ConduitError, type GroupId, type Identity, type KeyTransition, type RetiredCard } from '@conduit/shared';
import { virgil } from '../virgil/errors.js';
import { followChain, type CardKey } from './key-transition.js';
import type { Pin, PinStore } from './pin-store.js';

/** A Virgil card as E3Kit's group API takes it. */
export type Card = Parameters<EThree['loadGroup']>[1];

export interface PinnedCardsDeps {
  ethree: EThree;
  self: Identity;
  pins: () => Promise<PinStore>;
  /** The identity's published key-transition statements (from the server; verified here). */
  transitions: (identity: Identity) => Promise<KeyTransition[]>;
  /** A deleted identity's cards as the server kept them (unverified: checked here). */
  retiredCards: (identity: Identity) => Promise<RetiredCard[]>;
  log: (line: string) => void;
}

/** A pin as reported to users: card id and exported public key. */
export interface PinnedKey extends CardKey {
  identity: Identity;
}

/**
 * The one place the client learns peers' cards (docs/identity.md). The directory's answer is
 * checked against this endpoint's pins: first sight pins it (trust on first use); the pinned card
 * passes; a changed card passes only if a chain of key-transition statements signed by the pinned
 * key leads to it, and otherwise fails with IDENTITY_CHANGED until the user runs `trust`.
 * One directory request per operation, however many identities; no directory answer outlives
 * the operation, so a replaced card is noticed on the very next one.
 */
export class PinnedCards {
  private readonly inflight = new Map<string, Promise<Map<Identity, Card>>>();

  constructor(private readonly deps: PinnedCardsDeps) {}

  /**
   * Pinned-checked cards of `identities` (this identity's own card is taken as the directory has
   * it). With `allowMissing`, identities without any card are left out instead of failing.
   */
  async cards(identities: readonly Identity[], opts: { allowMissing?: boolean } = {}): Promise<Map<Identity, Card>> {
    const unique = [...new Set(identities)].sort();
    if (unique.length === 0) return new Map();
    // Concurrent lookups of the same set (a burst of pointers from one sender) share one request.
    const key = `${opts.allowMissing ? '?' : ''}${unique.join(',')}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.lookUp(unique, opts.allowMissing ?? false).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  async cardOf(identity: Identity): Promise<Card> {
    const card = (await this.cards([identity])).get(identity);
    if (!card) throw new ConduitError('IDENTITY_NOT_FOUND', `No public key is registered for ${identity}.`);
    return card;
  }

  /**
   * The card that verifies what `identity` sent: its pinned-checked directory card or, when the
   * directory has none (a deleted identity, docs/lifecycle.md), its retired card with the time the
   * server revoked it. Only place a retired card is taken.
   */
  async senderCard(identity: Identity): Promise<{ card: Card; revokedAt?: string }> {
    const card = (await this.cards([identity], { allowMissing: true })).get(identity);
    if (card) return { card };
    if (identity === this.deps.self) throw new ConduitError('IDENTITY_NOT_FOUND', 'This identity has no card.');
    return this.retiredCard(identity);
  }

  /** The pin of `identity`, pinning its current card on first use. */
  async pinOf(identity: Identity): Promise<PinnedKey> {
    const pins = await this.deps.pins();
    if (!pins.get(identity)) await this.cardOf(identity);
    const pin = pins.get(identity);
    if (!pin) throw new ConduitError('VALIDATION_FAILED', "This identity's own key is not pinned.");
    return toKey(identity, pin);
  }

  /** The pin of `identity` if any, without looking anything up. */
  async pinnedKey(identity: Identity): Promise<PinnedKey | undefined> {
    const pin = (await this.deps.pins()).get(identity);
    return pin && toKey(identity, pin);
  }

  /**
   * The directory's card, unchecked: only to name an identity to E3Kit where nothing is shared
   * with its key (removing it from a group), so a removal works even while its key is in doubt.
   */
  async unverifiedCard(identity: Identity): Promise<Card> {
    return virgil('Looking up the key', () => this.deps.ethree.findUsers(identity));
  }

  /** `identity`'s current card in the directory, unchecked (what `trust` would pin). */
  async current(identity: Identity): Promise<PinnedKey> {
    return { identity, ...this.keyOf(await this.unverifiedCard(identity)) };
  }

  /**
   * Re-pins `identity` to `next` (from `current`), whatever the pin was: the user's decision after
   * comparing safety numbers. The replaced pin goes to the history.
   */
  async repin(next: PinnedKey): Promise<{ previous?: PinnedKey; current: PinnedKey }> {
    const { identity } = next;
    if (identity === this.deps.self) {
      throw new ConduitError('VALIDATION_FAILED', "This identity's own key is not pinned: there is nothing to trust.");
    }
    const pins = await this.deps.pins();
    const old = pins.get(identity);
    const pin = await pins.pin(identity, next, old ? 'trust' : 'first-use');
    if (old && old.cardId !== pin.cardId) this.deps.log(`${identity}: pinned card replaced by the user (trust)`);
    return { previous: old && toKey(identity, old), current: toKey(identity, pin) };
  }

  /** Pins the group's owner on first sight; another owner later is GROUP_OWNER_CHANGED. */
  async checkGroupOwner(groupId: GroupId, owner: Identity): Promise<void> {
    const pins = await this.deps.pins();
    const pinned = pins.groupOwner(groupId);
    if (pinned === undefined) return pins.pinGroupOwner(groupId, owner);
    if (pinned !== owner) {
      throw new ConduitError(
        'GROUP_OWNER_CHANGED',
        `The server names ${owner} as the owner of group ${groupId}, but ${pinned} was its owner when this device joined it.`,
      );
    }
  }

  /** The exported public key of a card. */
  publicKeyOf(card: Card): Buffer {
    return this.deps.ethree.virgilCrypto.exportPublicKey(card.publicKey);
  }

  private async lookUp(identities: Identity[], allowMissing: boolean): Promise<Map<Identity, Card>> {
    const found = await virgil('Looking up keys', async () => {
      try {
        return await this.deps.ethree.findUsers(identities);
      } catch (err) {
        const missing = (err as { identities?: unknown }).identities;
        if (!allowMissing || (err as { name?: unknown }).name !== 'UsersNotFoundError' || !Array.isArray(missing)) {
          throw err;
        }
        const rest = identities.filter((i) => !missing.includes(i));
        return rest.length === 0 ? {} : this.deps.ethree.findUsers(rest);
      }
    });
    const pins = await this.deps.pins();
    const out = new Map<Identity, Card>();
    for (const identity of identities) {
      const card = found[identity];
      if (!card && allowMissing) continue;
      if (!card) throw new ConduitError('IDENTITY_NOT_FOUND', `No public key is registered for ${identity}.`);
      if (identity !== this.deps.self) await this.check(pins, identity, card);
      out.set(identity, card);
    }
    return out;
  }

  /**
   * Each kept card is imported with the verifier E3Kit uses for directory cards (self signature and
   * the directory's countersignature), so a server cannot mint one; it must name `identity`; of a
   * chain of rotations the newest is the one the directory answered until the deletion. It is then
   * checked against the pin as a directory card is (IDENTITY_CHANGED for another key).
   */
  private async retiredCard(identity: Identity): Promise<{ card: Card; revokedAt: string }> {
    const listed = await this.deps.retiredCards(identity);
    const retired = listed.map(({ rawCard, revokedAt }) => {
      let card: Card;
      try {
        card = this.deps.ethree.cardManager.importCardFromJson(rawCard);
      } catch (err) {
        throw new ConduitError(
          'INTEGRITY',
          `A retired card of ${identity} the server returned is not signed by the key directory.`,
          undefined,
          { cause: err },
        );
      }
      if (card.identity !== identity) {
        throw new ConduitError(
          'INTEGRITY',
          `A retired card the server returned for ${identity} names another identity.`,
        );
      }
      return { card, revokedAt };
    });
    const superseded = new Set(retired.map((r) => r.card.previousCardId).filter((id) => id !== undefined));
    const heads = retired.filter((r) => !superseded.has(r.card.id));
    if (heads.length !== 1) {
      throw new ConduitError('INTEGRITY', `The server returned ${heads.length} current retired cards of ${identity}.`);
    }
    const head = heads[0]!;
    await this.check(await this.deps.pins(), identity, head.card);
    return head;
  }

  private async check(pins: PinStore, identity: Identity, card: Card): Promise<void> {
    const current = this.keyOf(card);
    const pin = pins.get(identity);
    if (!pin) {
      await pins.pin(identity, current, 'first-use');
      return;
    }
    const pinned = { cardId: pin.cardId, publicKey: Buffer.from(pin.publicKey, 'base64') };
    if (pinned.cardId === current.cardId && pinned.publicKey.equals(current.publicKey)) return;
    const transitions = await this.deps.transitions(identity);
    if (followChain(this.deps.ethree.virgilCrypto, identity, pinned, current, transitions)) {
      await pins.pin(identity, current, 'chain');
      this.deps.log(`${identity}: new card accepted, signed over by the pinned key`);
      return;
    }
    throw new ConduitError(
      'IDENTITY_CHANGED',
      `The key of ${identity} changed (pinned card ${short(pinned.cardId)}, directory now ${short(current.cardId)}) ` +
        'and no statement signed by the pinned key explains it. Nothing was shared with or accepted from the new key. ' +
        `Compare safety numbers out of band (conduit verify ${identity}), then accept it with conduit trust ${identity}.`,
    );
  }

  private keyOf(card: Card): CardKey {
    return { cardId: card.id, publicKey: this.publicKeyOf(card) };
  }
}

const short = (cardId: string) => `${cardId.slice(0, 12)}…`;

const toKey = (identity: Identity, pin: Pin): PinnedKey => ({
  identity,
  cardId: pin.cardId,
  publicKey: Buffer.from(pin.publicKey, 'base64'),
});
