import {
  checkRecordEnvelope,
  ConduitError,
  decodeRecordEnvelope,
  encodeRecordEnvelope,
  MAX_RECORD_ENVELOPE_CHARS,
} from '@conduit/shared';
import type { RecordEnvelope, RecordEnvelopeV2, VersionClaim } from '@conduit/shared';
import type { DecryptEnvelope, EncryptEnvelope } from '../files/envelope.js';
import { openJson } from '../files/envelope.js';

/**
 * Record envelopes (docs/records.md): the format and its binding checks live in @conduit/shared
 * (formats/record-envelope.ts); this module seals (v2) and opens (v1 or v2) them with the group
 * cipher. VALIDATION_FAILED when the envelope does not fit the API's bound (the writer then moves
 * an inline value to S3).
 */
export async function sealRecordEnvelope(envelope: RecordEnvelopeV2, encrypt: EncryptEnvelope): Promise<string> {
  const json = encodeRecordEnvelope(envelope);
  try {
    const sealed = (await encrypt(json)).toString('base64');
    if (sealed.length > MAX_RECORD_ENVELOPE_CHARS) {
      throw new ConduitError('VALIDATION_FAILED', 'The sealed record envelope is too large.');
    }
    return sealed;
  } finally {
    json.fill(0);
  }
}

/**
 * Opens a version's envelope (the signature check against the claimed sender's card is inside
 * `decrypt`: SENDER_MISMATCH) and checks every binding against the claim: INTEGRITY on any
 * difference. The caller zeroes `content.key` when done.
 */
export async function openRecordEnvelope(
  claim: VersionClaim,
  decrypt: DecryptEnvelope,
  /** The version's createdAt (a deleted sender's retired card opens only what predates its revocation). */
  sentAt?: string,
): Promise<RecordEnvelope> {
  const envelope = await openJson(claim.envelope, decrypt, decodeRecordEnvelope, 'The record envelope', sentAt);
  checkRecordEnvelope(claim, envelope);
  return envelope;
}
