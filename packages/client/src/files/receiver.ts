import { ConduitError, GroupId, parseAnyPointer } from '@conduit/shared';
import type { PointerId } from '@conduit/shared';
import { reportAnomaly } from '../delivery/anomalies.js';
import { RetryQueue } from '../delivery/retry-queue.js';
import { SenderDevices } from '../delivery/sender-devices.js';
import type { GroupFeed } from '../feed/group-feed.js';
import type { Groups } from '../groups/groups.js';
import { receivePointer } from '../receive-pointer.js';
import { isWithdrawn, settleWithdrawn, settleWithdrawnDownloads } from './withdrawn.js';
import type { ReceiveContext, ReceivedFile } from '../receive-pointer.js';
import { asConduitError, parseId } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';
import { isFinal } from '../state/received-log.js';
import { DownloadStateStore } from '../transfer/download-state.js';
import type { DownloadOptions } from '../transfer/download.js';
import type { ProgressListener } from '../transfer/progress.js';
import { waitForAbort } from '../util/abort.js';
import { receiptSigner } from '../virgil/receipts.js';

/** Transfer tuning of receive() and receiveNext(). */
export interface ReceiveTransferOptions {
  /** Ranged GETs in flight per file (default 4). */
  concurrency?: DownloadOptions['concurrency'];
  /** Progress of each file's download. */
  onProgress?: ProgressListener;
}

export interface ReceiveOptions extends ReceiveTransferOptions {
  outDir: string;
  onFile?: (file: ReceivedFile) => void;
  /** A pointer that could not be received (it stays unacknowledged); receiving goes on. */
  onError?: (err: ConduitError) => void;
  /** Stops receiving; without it, receive() runs until close(). */
  signal?: AbortSignal;
}

/** Receives a group's files from its feed: download, verify, decrypt, acknowledge. */
export class FileReceiver {
  constructor(
    private readonly session: ClientSession,
    private readonly feed: GroupFeed,
    private readonly groups: Pick<Groups, 'view'>,
  ) {}

  /** Receives the group's files into `outDir` until `signal` aborts (or the session closes). */
  async receive(groupId: string, opts: ReceiveOptions): Promise<void> {
    const stop = await this.listen(groupId, opts);
    try {
      await waitForAbort(opts.signal, this.session.closingSignal);
    } finally {
      await stop();
    }
  }

  /** Waits for the next file of the group (pointers already present count), or fails with TIMEOUT. */
  async receiveNext(
    groupId: string,
    opts: { outDir: string; timeoutMs: number } & ReceiveTransferOptions,
  ): Promise<ReceivedFile> {
    let lastError: ConduitError | undefined;
    let settle!: (file: ReceivedFile | undefined) => void;
    const next = new Promise<ReceivedFile | undefined>((resolve) => (settle = resolve));
    const timer = setTimeout(() => settle(undefined), opts.timeoutMs);
    const stop = await this.listen(
      groupId,
      {
        outDir: opts.outDir,
        concurrency: opts.concurrency,
        onProgress: opts.onProgress,
        onFile: (file) => settle(file),
        onError: (err) => (lastError = err),
      },
      true,
    ).catch((err: unknown) => {
      clearTimeout(timer);
      throw err;
    });
    try {
      const file = await next;
      if (file) return file;
      const why = lastError ? ` (last problem: ${lastError.code}: ${lastError.message})` : '';
      throw new ConduitError('TIMEOUT', `No file arrived within ${opts.timeoutMs} ms${why}.`);
    } finally {
      clearTimeout(timer);
      await stop();
    }
  }

  /** Attaches to the group's feed; with `once`, stops handling items after the first file. */
  private async listen(groupId: string, opts: ReceiveOptions, once = false): Promise<() => Promise<void>> {
    const { session } = this;
    session.assertOpen();
    const gid = parseId(GroupId, groupId, 'group id');
    await this.groups.view(gid); // an outsider fails here, before the key store is needed
    const ctx: ReceiveContext = {
      self: session.endpoint,
      groupId: gid,
      outDir: opts.outDir,
      api: session.api,
      keys: await session.keys(),
      senderDevices: new SenderDevices(session.api),
      sign: receiptSigner(await session.ethree()),
      received: session.received,
      downloads: new DownloadStateStore(session.state.downloadsDir, session.platform.stateFiles),
      sink: session.platform.downloadSink,
      storage: session.platform.objectStorage,
      log: session.log,
      transfer: { concurrency: opts.concurrency, onProgress: opts.onProgress },
      signal: opts.signal ?? session.closingSignal,
    };
    const onError =
      opts.onError ?? ((err: ConduitError) => session.log(`pointer not received: ${err.code}: ${err.message}`));
    let active = true;
    // File pointers seen in this session: a removal before this endpoint finished with one is reported.
    const seenFiles = new Set<PointerId>();
    // File pointers that failed for a transient reason (an outage) are tried again with backoff.
    const retries = new RetryQueue<unknown>((_id, data) => session.enqueue(() => file(data), 'receive callback'));
    const file = async (data: unknown): Promise<void> => {
      if (!active) return;
      let received: ReceivedFile | undefined;
      let fileId: PointerId | undefined;
      try {
        const pointer = parseAnyPointer(data);
        if (pointer.kind === 'record') return; // a record pointer left by an older server: records use the feed
        fileId = pointer.id;
        seenFiles.add(pointer.id);
        received = await receivePointer(ctx, data);
        retries.done(pointer.id);
      } catch (err) {
        const error = asConduitError(err);
        if (fileId !== undefined && active) retries.failed(fileId, data, error);
        onError(error);
        return;
      }
      if (!received) return;
      if (once) active = false;
      opts.onFile?.(received);
    };
    const removed = async (key: string): Promise<void> => {
      const id = key as PointerId;
      retries.done(id);
      if (!active || !seenFiles.has(id) || isFinal(session.received.get(id))) return;
      // A withdrawn file's item goes away by design: settle it (no anomaly), delete any partial.
      if (await isWithdrawn(ctx, id)) {
        onError(await settleWithdrawn(ctx, id));
        return;
      }
      await reportAnomaly(
        { groupId: gid, api: session.api, received: session.received, log: session.log },
        id,
        'vanished',
        'POINTER_NOT_FOUND',
      );
      onError(new ConduitError('POINTER_NOT_FOUND', `Pointer ${id} was removed before this endpoint received it.`));
    };
    await settleWithdrawnDownloads(ctx, gid, onError);
    const detach = await this.feed.attach(gid, { file: (_key, data) => file(data), removed });
    return session.track(async () => {
      active = false;
      retries.close();
      await detach().catch(() => undefined);
    });
  }
}
