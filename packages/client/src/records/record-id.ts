import { createHash } from 'node:crypto';
import { ConduitError, MAX_RECORD_KEY_BYTES } from '@conduit/shared';
import type { GroupId, RecordId } from '@conduit/shared';

// The bound is the record envelope's (it travels inside every version's envelope); the SDK exports it.
export { MAX_RECORD_KEY_BYTES };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DOMAIN = 'conduit/record/v1\0';

/**
 * Validates an app's record key: 1..MAX_RECORD_KEY_BYTES bytes of UTF-8 without control
 * characters (keys are shown by the CLI and must never smuggle terminal escapes).
 */
export function checkRecordKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > MAX_RECORD_KEY_BYTES) {
    throw new ConduitError('VALIDATION_FAILED', `A record key is 1-${MAX_RECORD_KEY_BYTES} bytes of text.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(key) || LONE_SURROGATE.test(key)) {
    throw new ConduitError('VALIDATION_FAILED', 'A record key may not contain control characters.');
  }
  return key;
}

/**
 * recordId = first 16 bytes of SHA-256("conduit/record/v1\0" || groupId || "\0" || key), hex.
 * Deterministic so every endpoint finds the same record for the same key without coordination;
 * scoped by the group so one key in two groups is unlinkable by id. It is a plain hash: whoever
 * sees ids (the server) can confirm a guessed key; apps that need secret keys use random ones.
 */
export function deriveRecordId(groupId: GroupId, key: string): RecordId {
  checkRecordKey(key);
  return createHash('sha256')
    .update(DOMAIN)
    .update(groupId)
    .update('\0')
    .update(key, 'utf8')
    .digest()
    .subarray(0, 16)
    .toString('hex');
}
