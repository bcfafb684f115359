import { ConduitError, endpointKey, envelopeSha256, parsePointer } from '@conduit/shared';
import type { Endpoint, GroupId, PointerId, PointerV1 } from '@conduit/shared';
import type { HttpClient } from './api/http-client.js';
import { isVerificationFailure, reportAnomaly } from './delivery/anomalies.js';
import type { SenderDevices } from './delivery/sender-devices.js';
import { openEnvelope } from './files/envelope.js';
import { isWithdrawn, settleWithdrawn } from './files/withdrawn.js';
import { sanitizeFileName } from './files/file-name.js';
import { isFinal } from './state/received-log.js';
import type { ReceivedLog } from './state/received-log.js';
import { downloadToFile } from './transfer/download.js';
import type { DownloadOptions } from './transfer/download.js';
import type { DownloadSink } from './platform/download-sink.js';
import type { ObjectStorage } from './platform/object-storage.js';
import type { DownloadStateStore } from './transfer/download-state.js';
import type { GroupKeys } from './virgil/group-keys.js';
import type { ReceiptSigner } from './virgil/receipts.js';

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
  api: Pick<HttpClient, 'createDownload' | 'ack' | 'pointerStatus' | 'reportAnomaly'>;
  keys: Pick<GroupKeys, 'decryptorFor'>;
  senderDevices: Pick<SenderDevices, 'check'>;
  sign: ReceiptSigner;
  received: ReceivedLog;
  downloads: DownloadStateStore;
  sink: DownloadSink;
  storage: ObjectStorage;
  log: (line: string) => void;
  transfer?: Omit<DownloadOptions, 'signal'>;
  signal?: AbortSignal;
}

/**
 * Handles one Sync item of a group's map: validate, skip what this device sent or already
 * handled, open and check the envelope (signature, every bound field, the sender's device), check
 * the ledger's binding, download + verify + decrypt to disk, and only then sign and send the
 * receipt. A pointer that fails any check is reported as an anomaly and never acknowledged.
 * Re-delivery is idempotent through the ReceivedLog: a file written but not yet acknowledged is
 * only acknowledged again, never written twice.
 */
export async function receivePointer(ctx: ReceiveContext, data: unknown): Promise<ReceivedFile | undefined> {
  const pointer = parsePointer(data);
  if (pointer.sender.identity === ctx.self.identity && pointer.sender.deviceId === ctx.self.deviceId) return undefined;
  const digest = envelopeSha256(pointer.envelope);
  const seen = ctx.received.entry(pointer.id);
  // An item that changed after this endpoint verified (or acknowledged) it is reported once.
  const changed = seen?.envelopeSha256 !== undefined && seen.envelopeSha256 !== digest;
  if (seen && (isFinal(seen.state) || changed)) {
    if (changed && seen.state !== 'anomaly') await reportAnomaly(ctx, pointer.id, 'changed', 'POINTER_MISMATCH');
    return undefined;
  }
  try {
    const file = seen?.state === 'received' ? undefined : await verifyAndWrite(ctx, pointer, digest);
    if (!file && seen?.state !== 'received') return undefined; // not a recipient: skipped
    await acknowledge(ctx, pointer, digest);
    return file;
  } catch (err) {
    if (err instanceof ConduitError && err.code === 'POINTER_NOT_FOUND') {
      await reportAnomaly(ctx, pointer.id, 'unknown', err.code);
    } else if (isVerificationFailure(err)) {
      await reportAnomaly(ctx, pointer.id, err.code === 'POINTER_MISMATCH' ? 'changed' : 'unverifiable', err.code);
    }
    throw err;
  }
}

/** Every check before any byte is written, then the verified download. Undefined when skipped. */
async function verifyAndWrite(
  ctx: ReceiveContext,
  pointer: PointerV1,
  digest: string,
): Promise<ReceivedFile | undefined> {
  if (pointer.groupId !== ctx.groupId) {
    throw new ConduitError('INTEGRITY', 'A pointer in this group names another group.');
  }
  const decrypt = await ctx.keys.decryptorFor(pointer.groupId, pointer.sender.identity);
  const envelope = await openEnvelope(pointer, decrypt);
  try {
    await ctx.senderDevices.check(pointer.groupId, envelope.sender, pointer.createdAt);
    if (!(await checkLedger(ctx, pointer, digest))) return undefined;
    const name = sanitizeFileName(envelope.file.name);
    const path = await downloadToFile(
      { api: ctx.api, store: ctx.downloads, sink: ctx.sink, storage: ctx.storage, log: ctx.log },
      pointer,
      envelope,
      ctx.outDir,
      name,
      { ...ctx.transfer, signal: ctx.signal },
    ).catch(async (err: unknown) => {
      // A GET failing mid-way may mean the object was deleted by a withdrawal: ask the ledger.
      if (!ctx.signal?.aborted && (await isWithdrawn(ctx, pointer.id))) throw await settleWithdrawn(ctx, pointer.id);
      throw err;
    });
    await ctx.received.record(pointer.id, 'received', digest);
    return {
      pointerId: pointer.id,
      groupId: pointer.groupId,
      sender: pointer.sender,
      path,
      name: ctx.sink.nameOf(path),
      type: safeMediaType(envelope.file.type),
      size: envelope.plainLength,
    };
  } finally {
    envelope.contentKey.fill(0);
  }
}

/**
 * The ledger must know the pointer (POINTER_NOT_FOUND), bind it to this item's sender, object and
 * envelope (POINTER_MISMATCH), and expect this endpoint (else skipped: it joined after the send).
 */
async function checkLedger(ctx: ReceiveContext, pointer: PointerV1, digest: string): Promise<boolean> {
  const status = await ctx.api.pointerStatus(pointer.id);
  if (
    status.groupId !== pointer.groupId ||
    endpointKey(status.sender) !== endpointKey(pointer.sender) ||
    status.objectId !== pointer.objectId ||
    status.envelopeSha256 !== digest
  ) {
    throw new ConduitError('POINTER_MISMATCH', 'The Sync item differs from what the ledger registered.');
  }
  // Withdrawn before this endpoint got it (it may have been offline): no download, no receipt.
  if (status.state === 'withdrawn') throw await settleWithdrawn(ctx, pointer.id);
  if (status.expected.some((e) => endpointKey(e) === endpointKey(ctx.self))) return true;
  ctx.log(`pointer ${pointer.id}: not a recipient (this device joined after it was sent)`);
  await ctx.received.record(pointer.id, 'skipped');
  return false;
}

/** Signs the receipt statement and sends it; only ever called after the content verified. */
async function acknowledge(ctx: ReceiveContext, pointer: PointerV1, digest: string): Promise<void> {
  const signature = await ctx.sign({
    pointerId: pointer.id,
    groupId: pointer.groupId,
    objectId: pointer.objectId,
    envelopeSha256: digest,
    sender: pointer.sender,
    receiver: ctx.self,
  });
  try {
    await ctx.api.ack(pointer.id, { objectId: pointer.objectId, envelopeSha256: digest, signature });
  } catch (err) {
    // Withdrawn after the download finished: the verified file stays (it was complete before the
    // withdrawal reached this device), but no receipt is sent and the pointer is not retried.
    if (err instanceof ConduitError && err.code === 'FILE_WITHDRAWN')
      await ctx.received.record(pointer.id, 'withdrawn');
    // The device was dropped from the pointer meanwhile (or joined late): not a delivery, not an anomaly.
    if (!(err instanceof ConduitError) || err.code !== 'NOT_A_RECIPIENT') throw err;
    ctx.log(`pointer ${pointer.id}: not acknowledged (${err.code})`);
    await ctx.received.record(pointer.id, 'skipped');
    return;
  }
  await ctx.received.record(pointer.id, 'acked');
}

/** The type is the sender's claim; only a plain `type/subtype` is passed on (it may end up in a terminal). */
function safeMediaType(type: string): string {
  return /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : 'application/octet-stream';
}
