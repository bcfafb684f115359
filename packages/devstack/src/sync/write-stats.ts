/**
 * Read-only counters of the writes each Sync object received (accepted and refused by the write
 * limit), and the most accepted in any sliding 1-second window: what benches and tests compare
 * with Twilio's per-object limit. Not part of Twilio's API (served under /__emulator/).
 */
export interface SyncWriteStats {
  writes: number;
  refused: number;
  /** The most accepted writes within any 1,000 ms. */
  maxPerSecond: number;
}

interface ObjectStats extends SyncWriteStats {
  /** Times (ms) of the accepted writes of the last second, oldest first. */
  recent: number[];
}

const WINDOW_MS = 1000;

export class WriteStats {
  private readonly objects = new Map<string, ObjectStats>();

  constructor(private readonly now: () => number = Date.now) {}

  record(objectSid: string, accepted: boolean): void {
    let s = this.objects.get(objectSid);
    if (!s) {
      s = { writes: 0, refused: 0, maxPerSecond: 0, recent: [] };
      this.objects.set(objectSid, s);
    }
    if (!accepted) {
      s.refused += 1;
      return;
    }
    const now = this.now();
    s.writes += 1;
    s.recent.push(now);
    while ((s.recent[0] as number) <= now - WINDOW_MS) s.recent.shift();
    s.maxPerSecond = Math.max(s.maxPerSecond, s.recent.length);
  }

  of(objectSid: string): SyncWriteStats {
    const s = this.objects.get(objectSid);
    return { writes: s?.writes ?? 0, refused: s?.refused ?? 0, maxPerSecond: s?.maxPerSecond ?? 0 };
  }
}
