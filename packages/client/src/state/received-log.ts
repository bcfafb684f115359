import { PointerId } from '@conduit/shared';
import type { StateFiles } from '../platform/state-files.js';

/**
 * Durable record of pointers this device has handled, so a re-delivered Sync item (every
 * subscription replays the map) neither writes a second copy nor skips a missing ack.
 * `received`: the file is written and verified but the server may not have the receipt yet;
 * `acked`: the signed receipt was accepted; `skipped`: this endpoint is not a recipient (it joined
 * after the send); `anomaly`: the pointer vanished, changed or failed verification and was
 * reported, never acknowledged; `withdrawn`: the sender or the group owner withdrew the file before
 * this endpoint acknowledged it (any partial plaintext deleted, no receipt). The last four are final.
 * Append-only JSON lines, ids and digests only (no file names: they are as sensitive as the contents).
 */
export type ReceivedState = 'received' | 'acked' | 'skipped' | 'anomaly' | 'withdrawn';
const STATES: readonly string[] = ['received', 'acked', 'skipped', 'anomaly', 'withdrawn'];

export interface ReceivedEntry {
  state: ReceivedState;
  /** SHA-256 of the envelope that was verified (set with 'received'): the receipt must name it. */
  envelopeSha256?: string;
}

export const isFinal = (state: ReceivedState | undefined): boolean =>
  state === 'acked' || state === 'skipped' || state === 'anomaly' || state === 'withdrawn';

export class ReceivedLog {
  private constructor(
    private readonly files: StateFiles,
    private readonly path: string,
    private readonly entries: Map<string, ReceivedEntry>,
  ) {}

  static async open(path: string, files: StateFiles): Promise<ReceivedLog> {
    const entries = new Map<string, ReceivedEntry>();
    const text = (await files.read(path)) ?? '';
    for (const line of text.split('\n')) {
      const entry = parseLine(line);
      // A torn last line (crash mid-append) is skipped: the pointer is then simply handled again.
      if (entry && !isFinal(entries.get(entry.id)?.state)) entries.set(entry.id, entry.entry);
    }
    return new ReceivedLog(files, path, entries);
  }

  get(pointerId: string): ReceivedState | undefined {
    return this.entries.get(pointerId)?.state;
  }

  entry(pointerId: string): ReceivedEntry | undefined {
    return this.entries.get(pointerId);
  }

  /** Appends the new state; the verified envelope's digest carries over from an earlier state. */
  async record(pointerId: PointerId, state: ReceivedState, digest?: string): Promise<void> {
    const envelopeSha256 = digest ?? this.entries.get(pointerId)?.envelopeSha256;
    const line = { id: pointerId, s: state, ...(envelopeSha256 ? { h: envelopeSha256 } : {}) };
    await this.files.append(this.path, `${JSON.stringify(line)}\n`);
    this.entries.set(pointerId, { state, ...(envelopeSha256 ? { envelopeSha256 } : {}) });
  }
}

function parseLine(line: string): { id: string; entry: ReceivedEntry } | undefined {
  if (!line) return undefined;
  try {
    const v = JSON.parse(line) as { id?: unknown; s?: unknown; h?: unknown };
    if (!PointerId.safeParse(v.id).success || typeof v.s !== 'string' || !STATES.includes(v.s)) return undefined;
    const hash = typeof v.h === 'string' && /^[0-9a-f]{64}$/.test(v.h) ? v.h : undefined;
    return { id: v.id as string, entry: { state: v.s as ReceivedState, ...(hash ? { envelopeSha256: hash } : {}) } };
  } catch {
    return undefined;
  }
}
