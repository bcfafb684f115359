import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JsonValue } from '@conduit/client';
import { ConduitError, MAX_RECORD_BYTES } from '@conduit/shared';

/** A record value from the command line: JSON text, or `@file` holding JSON. */
export async function readJsonArgument(arg: string): Promise<JsonValue> {
  let text = arg;
  if (arg.startsWith('@')) {
    const path = resolve(arg.slice(1));
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size === undefined) throw new ConduitError('VALIDATION_FAILED', `Cannot read ${path}.`);
    if (size > MAX_RECORD_BYTES) {
      throw new ConduitError('VALIDATION_FAILED', `A record holds at most ${MAX_RECORD_BYTES} bytes of JSON.`);
    }
    text = await readFile(path, 'utf8');
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new ConduitError(
      'VALIDATION_FAILED',
      `The value is not valid JSON. Quote text ('"hello"'), or pass @file to read JSON from a file.`,
    );
  }
}
