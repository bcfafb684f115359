/**
 * Transfers churn through short-lived buffers (socket chunks, 64 KiB cipher slices). V8 frees them
 * only at a scavenge, and forces one for their sake only once 32 MiB of them piled up (a constant:
 * twice its default largest semi-space), ~30 MiB of peak RSS on top of the live set. When the
 * process exposes `gc` (the CLI does, cli/v8-flags.ts), a young-generation collection every few
 * MiB moved keeps that pile small; with a 1 MiB young generation each one takes well under 1 ms.
 */
const EVERY_BYTES = 4 * 1024 * 1024;
let moved = 0;

/** Counts `bytes` transferred; runs a young-generation GC every EVERY_BYTES when gc is exposed. */
export function noteTransferred(bytes: number): void {
  moved += bytes;
  if (moved < EVERY_BYTES) return;
  moved = 0;
  globalThis.gc?.({ type: 'minor', execution: 'sync' });
}
