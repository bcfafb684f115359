import type { Cipher, Decipher } from 'node:crypto';

/**
 * Input bytes per cipher.update() call. Node's update() returns a fresh buffer of its input's
 * size, freed only by a later GC, so the slice size decides how that garbage meets malloc:
 * whole 1 MiB segments are mmap'd and page-faulted afresh every time, 64 KiB slices pile up and
 * get trimmed and faulted back in, while 8 KiB slices are recycled from malloc's free lists
 * (bench/crypto-speed.mjs, measured 2026-12-06: 8 KiB ran about 1,500 MiB/s of CPU time and
 * page-faulted no more than the data itself; 16-64 KiB swung between 250 and 1,900 MiB/s).
 * Swept again on both Nodes the same evening (one core, steady state, load average 4-7): Node 20
 * 1,700-1,950 MiB/s at 8 KiB, 1,575-2,235 at 16, 1,360-1,920 at 32, 1,460-1,600 at 4; Node 22
 * 2,070-2,600 at 8 KiB and 1,450-2,030 at 12-32, 1,890-2,010 at 4. 8 KiB is best on Node 22 and
 * within the noise of the best on Node 20, so one size serves both.
 */
export const UPDATE_SLICE = 8 * 1024;

/**
 * Runs `input` through the cipher into `out` at `offset`, slice by slice; returns the end offset.
 * GCM output has the input's length, and each output slice lands where its input slice was read,
 * so `out` may be `input` itself (in place).
 */
export function updateInto(cipher: Cipher | Decipher, input: Uint8Array, out: Uint8Array, offset: number): number {
  let written = offset;
  for (let at = 0; at < input.length; at += UPDATE_SLICE) {
    const piece = cipher.update(input.subarray(at, at + UPDATE_SLICE));
    out.set(piece, written);
    written += piece.length;
  }
  return written;
}

/** Runs `input` through the cipher slice by slice, handing each output slice to `emit`. */
export function updateEach(cipher: Cipher | Decipher, input: Uint8Array, emit: (piece: Buffer) => void): void {
  for (let at = 0; at < input.length; at += UPDATE_SLICE) emit(cipher.update(input.subarray(at, at + UPDATE_SLICE)));
}
