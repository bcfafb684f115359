import type { EThree } from '@virgilsecurity/e3kit-node';
import {
  keyTransitionSignedBytes,
  keyTransitionStatementText,
  parseKeyTransitionStatement,
  type Identity,
  type KeyTransition,
} from '@conduit/shared';

/**
 * Key-transition statements (docs/identity.md): "identity's card `oldCardId` is succeeded by
 * `newCardId` with key `newPublicKey`", signed by the old card's private key. A peer that pinned
 * the old card follows a chain of them to accept the new card without asking the user.
 */
export type VirgilCryptoApi = EThree['virgilCrypto'];
type PrivateKey = Parameters<VirgilCryptoApi['calculateSignature']>[1];

/** A card as pinned: its id and exported public key. */
export interface CardKey {
  cardId: string;
  publicKey: Buffer;
}

export function signKeyTransition(
  crypto: VirgilCryptoApi,
  oldPrivateKey: PrivateKey,
  fields: { identity: Identity; oldCardId: string; next: CardKey; at: Date },
): KeyTransition {
  const statement = keyTransitionStatementText({
    identity: fields.identity,
    oldCardId: fields.oldCardId,
    newCardId: fields.next.cardId,
    newPublicKey: fields.next.publicKey.toString('base64'),
    at: fields.at.toISOString(),
  });
  const signature = crypto.calculateSignature(keyTransitionSignedBytes(statement), oldPrivateKey).toString('base64');
  return { statement, signature };
}

/**
 * The keys leading from `from` to `to`, each step a statement about `identity` signed by the key
 * before it; undefined when the statements do not connect them. Statements that fail to parse
 * or verify are ignored (the server, or anyone, may have planted them).
 */
export function followChain(
  crypto: VirgilCryptoApi,
  identity: Identity,
  from: CardKey,
  to: CardKey,
  transitions: readonly KeyTransition[],
): CardKey[] | undefined {
  const steps = transitions.flatMap((t) => {
    const s = parseKeyTransitionStatement(t.statement);
    return s && s.identity === identity ? [{ s, t }] : [];
  });
  const path: CardKey[] = [];
  const visited = new Set<string>([from.cardId]);
  let current = from;
  // Each step moves to a card not seen before, so this ends after at most steps.length moves.
  for (;;) {
    if (current.cardId === to.cardId) return current.publicKey.equals(to.publicKey) ? path : undefined;
    const next = steps.find(
      ({ s, t }) =>
        s.oldCardId === current.cardId && !visited.has(s.newCardId) && verifies(crypto, t, current.publicKey),
    );
    if (!next) return undefined;
    current = { cardId: next.s.newCardId, publicKey: Buffer.from(next.s.newPublicKey, 'base64') };
    visited.add(current.cardId);
    path.push(current);
  }
}

function verifies(crypto: VirgilCryptoApi, t: KeyTransition, publicKey: Buffer): boolean {
  try {
    return crypto.verifySignature(
      keyTransitionSignedBytes(t.statement),
      Buffer.from(t.signature, 'base64'),
      crypto.importPublicKey(publicKey),
    );
  } catch {
    return false;
  }
}
