/**
 * Transfers churn through short-lived buffers (socket chunks, 64 KiB cipher slices). V8 frees them
 * only at a scavenge, and forces one for their sake only once 32 MiB of them piled up (a constant:
 * twice its default largest semi-space), ~30 MiB of peak RSS on top of the live set. When the
 * process exposes `gc` (the CLI does, cli/v8-flags.ts), a young-generation collection every few
 * MiB moved keeps that pile small; with a 1 MiB young generation each one takes well under 1 ms.
 * Every 2 MiB: a 1 GiB receive on Node 22 with the other core busy peaked at 136-139 MiB, against
 * 143-144 MiB collecting every 4 MiB, at the same throughput (2026-12-07).
 */
const EVERY_BYTES = 2 * 1024 * 1024;
let moved = 0;

/** Counts `bytes` transferred; runs a young-generation GC every EVERY_BYTES when gc is exposed. */
export function noteTransferred(bytes: number): void {
  moved += bytes;
  if (moved < EVERY_BYTES) return;
  moved = 0;
  globalThis.gc?.({ type: 'minor', execution: 'sync' });
}

/** Transfers at least this large start with a full collection (settleBeforeTransfer). */
const SETTLE_FROM_BYTES = 64 * 1024 * 1024;

/**
 * Before a large transfer allocates its buffers, a full GC when the process exposes `gc`: what the
 * command's start left on the heap (modules, key loading, the envelope checks) is freed first
 * instead of adding to the transfer's peak RSS. On a 1 GiB receive under Node 22 that garbage was
 * ~18 MiB of heap still uncollected when the first ranges arrived, the whole excess of a 153 MiB
 * peak over the ~135 MiB the transfer reaches otherwise.
 */
export function settleBeforeTransfer(bytes: number): void {
  if (bytes >= SETTLE_FROM_BYTES) globalThis.gc?.({ type: 'major', execution: 'sync' });
}
