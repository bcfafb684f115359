import { createHash } from 'node:crypto';
import type { Endpoint } from '../ids.js';

/** Prefix and version of the receipt statement: a new layout gets a new prefix, never a reinterpretation. */
export const RECEIPT_STATEMENT_PREFIX = 'conduit-receipt-v1';

/** What a receiving endpoint signs once it has decrypted and verified a pointer's whole content. */
export interface ReceiptStatement {
  pointerId: string;
  groupId: string;
  /** Null for a record tombstone (encoded as '-', which no object id can be). */
  objectId: string | null;
  /** SHA-256 (hex) of the sealed envelope bytes. */
  envelopeSha256: string;
  sender: Endpoint;
  receiver: Endpoint;
}

/**
 * The canonical bytes of a receipt statement: the prefix, then every field on its own line in a
 * fixed order. No field can contain a newline (ids, identities and hex digests are validated), so
 * the encoding is unambiguous; the server and every member can recompute it.
 */
export function receiptStatement(s: ReceiptStatement): Buffer {
  const fields = [
    RECEIPT_STATEMENT_PREFIX,
    s.pointerId,
    s.groupId,
    s.objectId ?? '-',
    s.envelopeSha256,
    s.sender.identity,
    s.sender.deviceId,
    s.receiver.identity,
    s.receiver.deviceId,
  ];
  if (fields.some((f) => f.length === 0 || /[\n\r]/.test(f))) {
    throw new TypeError('A receipt field is empty or contains a line break.');
  }
  return Buffer.from(fields.join('\n'), 'utf8');
}

/** SHA-256 (hex) of a sealed envelope given as base64: what the ledger binds and receipts name. */
export function envelopeSha256(envelopeBase64: string): string {
  return createHash('sha256').update(Buffer.from(envelopeBase64, 'base64')).digest('hex');
}
