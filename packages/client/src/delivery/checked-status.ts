import { PointerId } from '@conduit/shared';
import { parseId } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';
import { verifyReceipt } from '../virgil/receipts.js';
import type { CardOf } from '../virgil/receipts.js';
import { verifyDelivery } from './status.js';
import type { DeliveryStatus } from './status.js';

/**
 * The pointer's delivery status, each receipt checked against its receiver's card: a receipt
 * the receiver's key did not sign shows as 'invalid-signature' (the server cannot fake delivery).
 */
export async function checkedStatus(session: ClientSession, pointerId: string): Promise<DeliveryStatus> {
  const status = await session.api.pointerStatus(parseId(PointerId, pointerId, 'pointer id'));
  const ethree = await session.ethree();
  // Receivers' cards come from the pins: a substituted card is IDENTITY_CHANGED, not a valid receipt.
  const pinned = await session.pins.cards();
  const cardOf: CardOf = (identity) => pinned.cardOf(identity);
  return verifyDelivery(status, cardOf, (card, statement, signature) =>
    verifyReceipt(ethree, card, statement, signature),
  );
}
