import type { EThree } from '@virgilsecurity/e3kit-node';
import { ConduitError, receiptStatement } from '@conduit/shared';
import type { Identity, ReceiptStatement } from '@conduit/shared';
import type { ICard } from 'virgil-sdk';
import type { VirgilPrivateKey, VirgilPublicKey } from 'virgil-crypto';

/**
 * Signed delivery receipts (docs/format.md, receipt statement): the receiving endpoint signs the
 * canonical statement with its Virgil private key; anyone holding its card can verify it. So a
 * server that claims a delivery without the receiver's signature is exposed to the sender.
 */

/** The one card lookup receipts (and status) use: plug a pinned lookup in here. */
export type CardOf = (identity: Identity) => Promise<ICard>;

export type ReceiptSigner = (statement: ReceiptStatement) => Promise<string>;

/** E3Kit keeps the private key behind its (protected) key loader; this reads it from the local store. */
interface KeyLoaderHolder {
  keyLoader: { loadLocalPrivateKey(): Promise<unknown> };
}

export function receiptSigner(ethree: EThree): ReceiptSigner {
  return async (statement) => {
    const key = await (ethree as unknown as KeyLoaderHolder).keyLoader.loadLocalPrivateKey();
    if (!key) throw new ConduitError('CONFIG', 'This device holds no private key to sign receipts with.');
    return ethree.virgilCrypto
      .calculateSignature(receiptStatement(statement), key as VirgilPrivateKey)
      .toString('base64');
  };
}

/** True when `signature` is the receiver's signature over the statement (false for anything malformed). */
export function verifyReceipt(ethree: EThree, card: ICard, statement: ReceiptStatement, signature: string): boolean {
  try {
    return ethree.virgilCrypto.verifySignature(
      receiptStatement(statement),
      Buffer.from(signature, 'base64'),
      card.publicKey as VirgilPublicKey,
    );
  } catch {
    return false;
  }
}
