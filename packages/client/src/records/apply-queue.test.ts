import { describe, expect, it } from 'vitest';
import { ApplyQueue } from './apply-queue.js';

describe('ApplyQueue', () => {
  it('applies what arrives in one tick together, and each caller learns its own outcome', async () => {
    const calls: number[][] = [];
    const queue = new ApplyQueue<number>((items) => {
      calls.push(items);
      if (items.includes(13)) throw new Error('refused');
    });
    await Promise.all([queue.apply(1), queue.apply(2), queue.apply(3)]);
    expect(calls).toEqual([[1, 2, 3]]);

    const outcomes = await Promise.allSettled([queue.apply(4), queue.apply(13), queue.apply(5)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    // The shared transaction failed, so each was applied alone.
    expect(calls.slice(1)).toEqual([[4, 13, 5], [4], [13], [5]]);
  });
});
