import { checkRecordEnvelope, decodeRecordEnvelope, encodeRecordEnvelope } from '@conduit/shared';
import type { RecordEnvelopeV1, VersionClaim } from '@conduit/shared';
import type { DecryptEnvelope, EncryptEnvelope } from '../files/envelope.js';
import { openJson, sealJson } from '../files/envelope.js';

/**
 * Record envelope v1 (docs/records.md): the format and its binding checks live in @conduit/shared
 * (formats/record-envelope.ts); this module seals and opens it with the group cipher.
 */
export async function sealRecordEnvelope(envelope: RecordEnvelopeV1, encrypt: EncryptEnvelope): Promise<string> {
  return sealJson(encodeRecordEnvelope(envelope), encrypt);
}

/**
 * Opens a version's envelope (the signature check against the claimed sender's card is inside
 * `decrypt`: SENDER_MISMATCH) and checks every binding against the claim: INTEGRITY on any
 * difference. The caller zeroes `content.key` when done.
 */
export async function openRecordEnvelope(claim: VersionClaim, decrypt: DecryptEnvelope): Promise<RecordEnvelopeV1> {
  const envelope = await openJson(claim.envelope, decrypt, decodeRecordEnvelope, 'The record envelope');
  checkRecordEnvelope(claim, envelope);
  return envelope;
}
