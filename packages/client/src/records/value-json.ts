import { ConduitError, MAX_RECORD_BYTES } from '@conduit/shared';
import type { JsonValue } from './replica.js';

/** A value's JSON text, bounded by MAX_RECORD_BYTES. */
export function valueJson(value: JsonValue): Buffer {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new ConduitError('VALIDATION_FAILED', 'A record value must be JSON.');
  const plain = Buffer.from(json, 'utf8');
  if (plain.length > MAX_RECORD_BYTES) {
    throw new ConduitError('VALIDATION_FAILED', `A record holds at most ${MAX_RECORD_BYTES} bytes of JSON.`);
  }
  return plain;
}

export function parseValue(json: Buffer): JsonValue {
  try {
    return JSON.parse(json.toString('utf8')) as JsonValue;
  } catch {
    throw new ConduitError('INTEGRITY', 'A record value is not valid JSON.');
  }
}
