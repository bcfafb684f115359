import { endpointKey } from '@conduit/shared';
import type { Endpoint, PointerStatus, ReceiptStatement } from '@conduit/shared';
import type { ICard } from 'virgil-sdk';
import type { CardOf } from '../virgil/receipts.js';

/**
 * Per endpoint: `verified` = acknowledged with a valid signature of the receiver's key;
 * `invalid-signature` = the server claims a receipt the receiver's key did not sign (a forged or
 * broken delivery claim); `pending` = no receipt yet; `dropped` = no longer expected (removed).
 */
export type ReceiptCheck = 'verified' | 'invalid-signature' | 'pending' | 'dropped';

export interface EndpointDelivery extends Endpoint {
  receipt: ReceiptCheck;
}

export interface DeliveryStatus extends PointerStatus {
  delivery: EndpointDelivery[];
}

export type VerifyReceipt = (card: ICard, statement: ReceiptStatement, signature: string) => boolean;

/** Checks every receipt of the status against its receiver's card (one lookup per identity). */
export async function verifyDelivery(
  status: PointerStatus,
  cardOf: CardOf,
  verify: VerifyReceipt,
): Promise<DeliveryStatus> {
  const cards = new Map<string, Promise<ICard | null>>();
  const card = (identity: string): Promise<ICard | null> => {
    let found = cards.get(identity);
    if (!found) {
      found = cardOf(identity).catch(() => null); // no card: no receipt of it can verify
      cards.set(identity, found);
    }
    return found;
  };
  const receipts = new Map(status.receipts.map((r) => [endpointKey(r), r]));
  const dropped = new Set((status.dropped ?? []).map(endpointKey));
  const acknowledged = new Set(status.acknowledged.map(endpointKey));
  const delivery = await Promise.all(
    status.expected.map(async (e): Promise<EndpointDelivery> => {
      const endpoint = { identity: e.identity, deviceId: e.deviceId };
      const receipt = receipts.get(endpointKey(e));
      if (!receipt) {
        // Claimed acknowledged without a signed receipt: as good as a forged one.
        if (acknowledged.has(endpointKey(e))) return { ...endpoint, receipt: 'invalid-signature' };
        return { ...endpoint, receipt: dropped.has(endpointKey(e)) ? 'dropped' : 'pending' };
      }
      const receiverCard = await card(e.identity);
      const statement: ReceiptStatement = {
        pointerId: status.pointerId,
        groupId: status.groupId,
        objectId: status.objectId,
        envelopeSha256: status.envelopeSha256,
        sender: status.sender,
        receiver: endpoint,
      };
      const valid = receiverCard !== null && verify(receiverCard, statement, receipt.signature);
      return { ...endpoint, receipt: valid ? 'verified' : 'invalid-signature' };
    }),
  );
  return { ...status, delivery };
}
