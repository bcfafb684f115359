import { describe, expect, it } from 'vitest';
import { WriteStats } from './write-stats.js';

describe('Sync write stats', () => {
  it('counts accepted and refused writes per object and the most accepted in any 1-second window', () => {
    let now = 0;
    const stats = new WriteStats(() => now);
    // 5 writes at t=0..400, 5 more at t=900..1300: the 1-second window ending at 1300 holds 6 of them.
    for (const t of [0, 100, 200, 300, 400, 900, 1000, 1100, 1200, 1300]) {
      now = t;
      stats.record('MP1', true);
    }
    stats.record('MP1', false);
    stats.record('MP2', true);
    expect(stats.of('MP1')).toEqual({ writes: 10, refused: 1, maxPerSecond: 6 });
    expect(stats.of('MP2')).toEqual({ writes: 1, refused: 0, maxPerSecond: 1 });
    expect(stats.of('MP3')).toEqual({ writes: 0, refused: 0, maxPerSecond: 0 });
  });
});
