import { createHash } from 'node:crypto';
import type { VirgilCrypto, VirgilPrivateKey, VirgilPublicKey } from 'virgil-crypto';
import { VirgilServiceError } from './errors.js';
import { CardContent, type CardRecord, type RawSignature } from './schemas.js';
import type { DirectoryState } from './state.js';

export interface RawCard {
  content_snapshot: string;
  signatures: RawSignature[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Card id = hex of the first 32 bytes of SHA-512(snapshot bytes) (virgil-sdk `generateCardId`). */
export const cardIdOf = (snapshot: Uint8Array): string =>
  createHash('sha512').update(snapshot).digest().subarray(0, 32).toString('hex');

/**
 * Cards v5. Publishing checks what the cloud checks (token identity, self signature, rotation
 * chain) and countersigns as signer 'virgil' with the directory's own key, which clients
 * whitelist. The content snapshot is stored and echoed as received: clients compare it byte for
 * byte and derive the card id from it.
 */
export class CardsService {
  private readonly signingKey: VirgilPrivateKey;

  constructor(
    private readonly state: DirectoryState,
    private readonly crypto: VirgilCrypto,
  ) {
    this.signingKey = crypto.importPrivateKey(state.signingKey);
  }

  publish(identity: string, raw: RawCard): RawCard {
    const snapshot = Buffer.from(raw.content_snapshot, 'base64');
    const content = parseContent(snapshot);
    if (content.identity !== identity) throw new VirgilServiceError('IDENTITY_MISMATCH');
    const signers = raw.signatures.map((s) => s.signer);
    if (new Set(signers).size !== signers.length || signers.includes('virgil')) {
      throw new VirgilServiceError('INVALID_CARD');
    }
    const self = raw.signatures.find((s) => s.signer === 'self');
    if (!self || !this.verifySelf(snapshot, self, this.importKey(content.public_key))) {
      throw new VirgilServiceError('INVALID_SELF_SIGNATURE');
    }
    const id = cardIdOf(snapshot);
    if (this.state.cards.has(id)) throw new VirgilServiceError('CARD_EXISTS');
    const previous = content.previous_card_id ? this.state.cards.get(content.previous_card_id) : undefined;
    if (content.previous_card_id && !(previous && isLive(previous) && previous.identity === identity)) {
      throw new VirgilServiceError('INVALID_PREVIOUS_CARD');
    }
    const signature = this.crypto.calculateSignature(snapshot, this.signingKey).toString('base64');
    const record: CardRecord = {
      id,
      identity,
      contentSnapshot: raw.content_snapshot,
      signatures: [...raw.signatures, { signer: 'virgil', signature }],
      previousCardId: content.previous_card_id ?? null,
      supersededBy: null,
      revoked: false,
    };
    if (previous) previous.supersededBy = id;
    this.state.cards.set(id, record);
    return toRaw(record);
  }

  /** Every unrevoked card of the identities, superseded ones included: the SDK links rotation chains. */
  search(identities: readonly string[]): RawCard[] {
    const wanted = new Set(identities);
    return [...this.state.cards.values()].filter((c) => !c.revoked && wanted.has(c.identity)).map(toRaw);
  }

  get(id: string): { card: RawCard; superseded: boolean } {
    const record = this.state.cards.get(id);
    if (!record) throw new VirgilServiceError('NOT_FOUND');
    return { card: toRaw(record), superseded: !isLive(record) };
  }

  /** Revokes the card and its predecessors, so a rotated-then-unregistered identity has no card left. */
  revoke(identity: string, id: string): void {
    let record = this.state.cards.get(id);
    if (!record) throw new VirgilServiceError('NOT_FOUND');
    if (record.identity !== identity) throw new VirgilServiceError('FORBIDDEN');
    while (record && !record.revoked) {
      record.revoked = true;
      record = record.previousCardId ? this.state.cards.get(record.previousCardId) : undefined;
    }
  }

  private importKey(publicKeyBase64: string): VirgilPublicKey {
    try {
      return this.crypto.importPublicKey(publicKeyBase64);
    } catch {
      throw new VirgilServiceError('INVALID_CARD');
    }
  }

  /** The self signature covers the snapshot bytes followed by the signature's extra snapshot, if any. */
  private verifySelf(snapshot: Buffer, self: RawSignature, key: VirgilPublicKey): boolean {
    const signed = self.snapshot ? Buffer.concat([snapshot, Buffer.from(self.snapshot, 'base64')]) : snapshot;
    try {
      return this.crypto.verifySignature(signed, Buffer.from(self.signature, 'base64'), key);
    } catch {
      return false;
    }
  }
}

function parseContent(snapshot: Buffer): CardContent {
  try {
    // Clients verify signatures over the UTF-8 string they decode, so only valid UTF-8 round-trips.
    return CardContent.parse(JSON.parse(utf8.decode(snapshot)));
  } catch {
    throw new VirgilServiceError('INVALID_CARD');
  }
}

const isLive = (card: CardRecord): boolean => !card.revoked && card.supersededBy === null;

const toRaw = (card: CardRecord): RawCard => ({ content_snapshot: card.contentSnapshot, signatures: card.signatures });

export function generateSigningKey(crypto: VirgilCrypto): string {
  return crypto.exportPrivateKey(crypto.generateKeys().privateKey).toString('base64');
}

export function publicKeyOf(crypto: VirgilCrypto, privateKeyBase64: string): string {
  return crypto.exportPublicKey(crypto.extractPublicKey(crypto.importPrivateKey(privateKeyBase64))).toString('base64');
}
