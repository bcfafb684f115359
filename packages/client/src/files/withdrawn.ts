import { ConduitError, PointerId } from '@conduit/shared';
import type { PointerWithdrawn } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import type { DownloadSink } from '../platform/download-sink.js';
import type { ReceivedLog } from '../state/received-log.js';
import { parseId } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';
import type { DownloadStateStore } from '../transfer/download-state.js';

/** `client.withdraw`: the sender (or the group owner) withdraws a file; idempotent. */
export function withdrawFile(session: ClientSession, pointerId: string): Promise<PointerWithdrawn> {
  session.assertOpen();
  return session.api.withdrawPointer(parseId(PointerId, pointerId, 'pointer id'));
}

/** What settling a withdrawn pointer touches (a ReceiveContext has it). */
export interface WithdrawnDeps {
  api: Pick<HttpClient, 'pointerStatus'>;
  received: Pick<ReceivedLog, 'record'>;
  downloads: Pick<DownloadStateStore, 'load' | 'remove'>;
  sink: Pick<DownloadSink, 'discard'>;
}

export const withdrawnError = (pointerId: string): ConduitError =>
  new ConduitError('FILE_WITHDRAWN', `The sender or the group owner withdrew the file of pointer ${pointerId}.`, {
    pointerId,
  });

/**
 * A withdrawn pointer ends here for good (docs/lifecycle.md#withdrawing-a-file-conduit-rm): the
 * partial plaintext of an interrupted download is deleted with its checkpoint, the received log
 * says 'withdrawn' (final: no receipt, no retry, no anomaly) and the caller gets FILE_WITHDRAWN.
 */
export async function settleWithdrawn(deps: WithdrawnDeps, pointerId: PointerId): Promise<ConduitError> {
  const saved = await deps.downloads.load(pointerId);
  if (saved) await deps.sink.discard(saved.folder);
  await deps.downloads.remove(pointerId);
  await deps.received.record(pointerId, 'withdrawn');
  return withdrawnError(pointerId);
}

/**
 * Whether the ledger says the pointer was withdrawn: asked when a download failed or its Sync item
 * went away. False when the server cannot be asked (offline): the caller's own error stands.
 */
export async function isWithdrawn(deps: Pick<WithdrawnDeps, 'api'>, pointerId: PointerId): Promise<boolean> {
  try {
    return (await deps.api.pointerStatus(pointerId)).state === 'withdrawn';
  } catch {
    return false;
  }
}

/**
 * Interrupted downloads of the group whose file was withdrawn while this endpoint was away (its
 * Sync item is gone, so the feed never brings the pointer back): each is settled and reported.
 */
export async function settleWithdrawnDownloads(
  deps: WithdrawnDeps & { downloads: Pick<DownloadStateStore, 'pointers'> },
  groupId: string,
  onError: (err: ConduitError) => void,
): Promise<void> {
  for (const pointerId of await deps.downloads.pointers()) {
    const status = await deps.api.pointerStatus(pointerId).catch(() => null);
    if (status?.groupId === groupId && status.state === 'withdrawn') onError(await settleWithdrawn(deps, pointerId));
  }
}
