import { ConduitError, type Identity } from '@conduit/shared';
import type { PinnedCards, PinnedKey } from './pinned-cards.js';
import { safetyNumber } from './safety-number.js';

/** What `verify` shows: the number to compare out of band, and which pinned card it covers. */
export interface SafetyNumberReport {
  /** This identity. */
  identity: Identity;
  peer: Identity;
  /** 60 digits; shown in 12 groups of 5 (groupDigits). */
  safetyNumber: string;
  /** The peer's card the number covers (pinned on this device). */
  pinnedCardId: string;
}

/** What `trust` did: the pin before (if any) and after, each with its safety number. */
export interface TrustReport {
  identity: Identity;
  peer: Identity;
  changed: boolean;
  previous?: { cardId: string; safetyNumber: string };
  current: { cardId: string; safetyNumber: string };
}

/** `ownKey`: the public key of this device's private key (not the directory's card, which could be replaced). */
export async function safetyNumberReport(
  pinned: PinnedCards,
  self: Identity,
  ownKey: Buffer,
  peer: Identity,
): Promise<SafetyNumberReport> {
  const pin = await pinned.pinOf(peer);
  return { identity: self, peer, safetyNumber: numberOf(self, ownKey, pin), pinnedCardId: pin.cardId };
}

/** Shown before `trust` re-pins (e.g. to ask the user); false cancels with nothing changed. */
export type ConfirmTrust = (next: { cardId: string; safetyNumber: string; pinnedCardId?: string }) => Promise<boolean>;

export async function trustReport(
  pinned: PinnedCards,
  self: Identity,
  ownKey: Buffer,
  peer: Identity,
  confirm?: ConfirmTrust,
): Promise<TrustReport> {
  const side = (pin: PinnedKey) => ({ cardId: pin.cardId, safetyNumber: numberOf(self, ownKey, pin) });
  const next = await pinned.current(peer);
  if (confirm && !(await confirm({ ...side(next), pinnedCardId: (await pinned.pinnedKey(peer))?.cardId }))) {
    throw new ConduitError('VALIDATION_FAILED', `Not trusted: the pin of ${peer} is unchanged.`);
  }
  const { previous, current } = await pinned.repin(next);
  return {
    identity: self,
    peer,
    changed: previous !== undefined && previous.cardId !== current.cardId,
    previous: previous && side(previous),
    current: side(current),
  };
}

const numberOf = (self: Identity, ownKey: Buffer, pin: PinnedKey): string =>
  safetyNumber({ identity: self, publicKey: ownKey }, { identity: pin.identity, publicKey: pin.publicKey });
