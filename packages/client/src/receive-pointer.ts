import { basename } from 'node:path';
import { ConduitError, parsePointer } from '@conduit/shared';
import type { Endpoint, GroupId, PointerId } from '@conduit/shared';
import type { HttpClient } from './api/http-client.js';
import { openEnvelope } from './files/envelope.js';
import { sanitizeFileName } from './files/file-name.js';
import type { ReceivedLog } from './state/received-log.js';
import { downloadToFile } from './transfer/download.js';
import type { DownloadOptions } from './transfer/download.js';
import type { DownloadStateStore } from './transfer/download-state.js';
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
}

export interface ReceiveContext {
  self: Endpoint;
  groupId: GroupId;
  outDir: string;
  api: Pick<HttpClient, 'createDownload' | 'ack'>;
  keys: Pick<GroupKeys, 'decryptorFor'>;
  received: ReceivedLog;
  downloads: DownloadStateStore;
  log: (line: string) => void;
  transfer?: Omit<DownloadOptions, 'signal'>;
  signal?: AbortSignal;
}

/**
 * Handles one Sync item of a group's map: validate, skip what this device sent or already
 * handled, open and check the envelope, download + verify + decrypt to disk, then acknowledge.
 * Returns the file when one was written now. Re-delivery is idempotent through the ReceivedLog:
 * a file written but not yet acknowledged is only acknowledged again, never written twice.
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
    const envelope = await openEnvelope(pointer, decrypt);
    try {
      const name = sanitizeFileName(envelope.file.name);
      const path = await downloadToFile(
        { api: ctx.api, store: ctx.downloads, log: ctx.log },
        pointer,
        envelope,
        ctx.outDir,
        name,
        { ...ctx.transfer, signal: ctx.signal },
      );
      file = {
        pointerId: pointer.id,
        groupId: pointer.groupId,
        sender: pointer.sender,
        path,
        name: basename(path),
        type: safeMediaType(envelope.file.type),
        size: envelope.plainLength,
      };
    } finally {
      envelope.contentKey.fill(0);
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
