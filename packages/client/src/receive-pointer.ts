import { basename } from 'node:path';
import { ConduitError, parsePointer } from '@conduit/shared';
import type { Endpoint, GroupId, PointerId } from '@conduit/shared';
import type { HttpClient } from './api/http-client.js';
import { sanitizeFileName } from './files/file-name.js';
import { downloadObject } from './files/object-transfer.js';
import { openFile, sha256Hex } from './files/seal.js';
import { writeNewFile } from './files/write-new-file.js';
import type { ReceivedLog } from './state/received-log.js';
import type { GroupKeys } from './virgil/group-keys.js';

export interface ReceivedFile {
  pointerId: PointerId;
  groupId: GroupId;
  sender: Endpoint;
  /** Where the plaintext was written. */
  path: string;
  /** The sanitised file name actually used (may carry a ' (n)' suffix). */
  name: string;
  type: string;
  size: number;
  /** SHA-256 of the plaintext (hex). */
  sha256: string;
}

export interface ReceiveContext {
  self: Endpoint;
  groupId: GroupId;
  outDir: string;
  api: Pick<HttpClient, 'createDownload' | 'ack'>;
  keys: Pick<GroupKeys, 'decryptorFor'>;
  received: ReceivedLog;
  log: (line: string) => void;
}

/**
 * Handles one Sync item of a group's map: validate, skip what this device sent or already
 * handled, fetch + verify + decrypt, write the file, then acknowledge. Returns the file when one
 * was written now. Re-delivery is idempotent through the ReceivedLog: a file written but not yet
 * acknowledged is only acknowledged again, never written twice.
 */
export async function receivePointer(ctx: ReceiveContext, data: unknown): Promise<ReceivedFile | undefined> {
  const pointer = parsePointer(data);
  if (pointer.groupId !== ctx.groupId) {
    throw new ConduitError('INTEGRITY', 'A pointer in this group names another group.');
  }
  if (pointer.sender.identity === ctx.self.identity && pointer.sender.deviceId === ctx.self.deviceId) return undefined;
  const state = ctx.received.get(pointer.id);
  if (state === 'acked') return undefined;

  let file: ReceivedFile | undefined;
  if (state !== 'received') {
    const decrypt = await ctx.keys.decryptorFor(pointer.groupId, pointer.sender.identity);
    const presigned = await ctx.api.createDownload(pointer.groupId, pointer.objectId);
    const object = await downloadObject(presigned, pointer.size);
    const opened = await openFile(pointer, object, decrypt);
    try {
      const path = await writeNewFile(ctx.outDir, sanitizeFileName(opened.file.name), opened.plaintext);
      file = {
        pointerId: pointer.id,
        groupId: pointer.groupId,
        sender: pointer.sender,
        path,
        name: basename(path),
        type: safeMediaType(opened.file.type),
        size: opened.plaintext.length,
        sha256: sha256Hex(opened.plaintext),
      };
    } finally {
      opened.plaintext.fill(0);
    }
    await ctx.received.record(pointer.id, 'received');
  }
  await acknowledge(ctx, pointer.id);
  return file;
}

async function acknowledge(ctx: ReceiveContext, pointerId: PointerId): Promise<void> {
  try {
    await ctx.api.ack(pointerId);
  } catch (err) {
    // Nothing to acknowledge: this endpoint joined after the pointer was sent, or it is gone.
    if (!(err instanceof ConduitError) || (err.code !== 'NOT_A_RECIPIENT' && err.code !== 'POINTER_NOT_FOUND'))
      throw err;
    ctx.log(`pointer ${pointerId}: not acknowledged (${err.code})`);
  }
  await ctx.received.record(pointerId, 'acked');
}

/** The type is the sender's claim; only a plain `type/subtype` is passed on (it may end up in a terminal). */
function safeMediaType(type: string): string {
  return /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : 'application/octet-stream';
}
