import { parsePointer } from '@conduit/shared';
import { SenderDevices } from '../delivery/sender-devices.js';
import type { ClientSession } from '../session/session.js';
import { readPlainRange } from '../transfer/range-read.js';
import { openEnvelope } from './envelope.js';

/**
 * Random access: plaintext bytes [start, end) of a shared file (end exclusive, at most 64 MiB),
 * fetching and verifying only the segments that cover them.
 */
export async function readRange(
  session: ClientSession,
  pointer: unknown,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const parsed = parsePointer(pointer);
  const decrypt = await (await session.keys()).decryptorFor(parsed.groupId, parsed.sender.identity);
  const envelope = await openEnvelope(parsed, decrypt);
  try {
    await new SenderDevices(session.api).check(parsed.groupId, envelope.sender, parsed.createdAt);
    return await readPlainRange(session.api, session.platform.objectStorage, parsed, envelope, start, end, signal);
  } finally {
    envelope.contentKey.fill(0);
  }
}
