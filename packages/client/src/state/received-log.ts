import { appendFile, readFile } from 'node:fs/promises';
import { PointerId } from '@conduit/shared';

/**
 * Durable record of pointers this device has handled, so a re-delivered Sync item (every
 * subscription replays the map) neither writes a second copy nor skips a missing ack.
 * `received`: the file is written but the server may not know yet; `acked`: nothing left to do.
 * Append-only JSON lines, ids only (no file names: they are as sensitive as the contents).
 */
export type ReceivedState = 'received' | 'acked';

export class ReceivedLog {
  private constructor(
    private readonly path: string,
    private readonly states: Map<string, ReceivedState>,
  ) {}

  static async open(path: string): Promise<ReceivedLog> {
    const states = new Map<string, ReceivedState>();
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      const entry = parseLine(line);
      // A torn last line (crash mid-append) is skipped: the pointer is then simply handled again.
      if (entry && states.get(entry.id) !== 'acked') states.set(entry.id, entry.s);
    }
    return new ReceivedLog(path, states);
  }

  get(pointerId: string): ReceivedState | undefined {
    return this.states.get(pointerId);
  }

  async record(pointerId: PointerId, state: ReceivedState): Promise<void> {
    await appendFile(this.path, `${JSON.stringify({ id: pointerId, s: state })}\n`, { mode: 0o600 });
    this.states.set(pointerId, state);
  }
}

function parseLine(line: string): { id: string; s: ReceivedState } | undefined {
  if (!line) return undefined;
  try {
    const v = JSON.parse(line) as { id?: unknown; s?: unknown };
    if (!PointerId.safeParse(v.id).success || (v.s !== 'received' && v.s !== 'acked')) return undefined;
    return { id: v.id as string, s: v.s };
  } catch {
    return undefined;
  }
}
