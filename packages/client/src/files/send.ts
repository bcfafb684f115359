import { ConduitError, FileMeta, GroupId } from '@conduit/shared';
import type { PointerId, PointerV1 } from '@conduit/shared';
import { parseId } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';
import { progressEmitter } from '../transfer/progress.js';
import { isRetryable, withRetry } from '../transfer/retry.js';
import { uploadFile } from '../transfer/upload.js';
import type { UploadOptions } from '../transfer/upload.js';
import { UploadStateStore } from '../transfer/upload-state.js';
import { selfSealer } from '../virgil/self-seal.js';
import { sealEnvelope } from './envelope.js';
import { guessMediaType } from './media-type.js';

export interface SendOptions extends UploadOptions {
  /** File name shown to recipients (default: the file's base name). */
  name?: string;
  /** Media type (default: guessed from the name). */
  type?: string;
}

export interface SentFile {
  pointerId: PointerId;
  objectId: string;
  /** Plaintext size of the file in bytes. */
  plainLength: number;
  /** Stored (ciphertext) size in bytes. */
  size: number;
  /** An interrupted upload of the same file was continued. */
  resumed: boolean;
  /** Where the pointer was published. */
  syncMap: string;
  itemKey: string;
  /** The published pointer (what readRange takes). */
  pointer: PointerV1;
}

/**
 * Encrypts a file for the group while uploading it (container v1 over S3 multipart, constant
 * memory), then hands its pointer to the server, which binds and publishes it. An interrupted
 * send of the same file to the same group resumes (see UploadOptions.resume).
 */
export async function sendFile(
  session: ClientSession,
  groupId: string,
  filePath: string,
  opts: SendOptions = {},
): Promise<SentFile> {
  const { api, log, endpoint } = session;
  const gid = parseId(GroupId, groupId, 'group id');
  const { stateFiles, sourceFiles, sha256 } = session.platform;
  const path = sourceFiles.resolve(filePath);
  const name = opts.name ?? sourceFiles.baseName(path);
  const meta = FileMeta.safeParse({ name, type: opts.type ?? guessMediaType(name), size: 0 });
  if (!meta.success)
    throw new ConduitError('VALIDATION_FAILED', 'Invalid file name or type (1-255 / 1-127 characters).');
  const file = { name: meta.data.name, type: meta.data.type };

  const keys = await session.keys();
  const encrypt = await keys.encryptorFor(gid);
  const uploaded = await uploadFile(
    {
      api,
      store: new UploadStateStore(session.state.uploadsDir, stateFiles, sha256),
      source: sourceFiles,
      storage: session.platform.objectStorage,
      sha256,
      keys: selfSealer(await session.ethree()),
      log,
    },
    gid,
    path,
    file,
    opts,
  );
  let envelope: string;
  try {
    envelope = await sealEnvelope({ ...uploaded, file, sender: endpoint, groupId: gid }, encrypt);
  } finally {
    uploaded.contentKey.fill(0);
  }
  const progress = progressEmitter({ direction: 'send', bytesTotal: uploaded.plainLength, name }, opts.onProgress);
  progress('publishing', uploaded.plainLength);

  const { pointerId, objectId } = uploaded;
  // The server binds the pointer in its ledger and publishes the Sync item (members only read
  // the map). A resumed send re-registers: the server re-publishes only while still pending.
  // Idempotent for this device: a 503 (Sync refused the publish), a 429 (Sync's write limit, after
  // the server's own wait) or a lost answer is retried; past that the error surfaces, the pointer
  // stays registered and the server's reconciler publishes it.
  const reg = await withRetry(() => api.registerPointer(gid, { pointerId, objectId, size: uploaded.size, envelope }), {
    signal: opts.signal,
    retryable: (err): err is ConduitError =>
      isRetryable(err) ||
      (err instanceof ConduitError && (err.code === 'DEPENDENCY_UNAVAILABLE' || err.code === 'RATE_LIMITED')),
  });
  const pointer: PointerV1 = {
    v: 1,
    kind: 'file',
    id: pointerId,
    groupId: gid,
    sender: endpoint,
    objectId,
    size: uploaded.size,
    envelope,
    createdAt: reg.createdAt,
  };
  await uploaded.finish();
  progress('done', uploaded.plainLength);
  log(`sent pointer ${pointerId} to ${reg.expected.length} endpoint(s)`);
  return {
    pointerId,
    objectId,
    plainLength: uploaded.plainLength,
    size: uploaded.size,
    resumed: uploaded.resumed,
    syncMap: reg.syncMap,
    itemKey: reg.itemKey,
    pointer,
  };
}
