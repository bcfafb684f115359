import type { PointerBinding } from '../adapters/redis/pointers.js';

/** A binding for ledger tests that are not about the binding itself. */
export const TEST_BINDING: PointerBinding = { objectId: 'ab'.repeat(16), envelopeSha256: 'cd'.repeat(32) };
/** An acknowledgement naming TEST_BINDING, with a placeholder signature (the ledger does not verify it). */
export const TEST_RECEIPT = { ...TEST_BINDING, signature: 'c2lnbmF0dXJl' };
