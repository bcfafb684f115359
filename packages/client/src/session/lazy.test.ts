import { describe, expect, it } from 'vitest';
import { Lazy } from './lazy.js';

describe('Lazy', () => {
  it('creates once for concurrent callers and forgets a failed creation', async () => {
    const lazy = new Lazy<number>();
    let calls = 0;
    const failing = lazy.get(async () => {
      calls++;
      throw new Error('down');
    });
    await expect(failing).rejects.toThrow('down');
    expect(await lazy.created()).toBeUndefined();
    const make = async () => ++calls;
    const [a, b] = await Promise.all([lazy.get(make), lazy.get(make)]);
    expect([a, b, calls]).toEqual([2, 2, 2]);
    expect(await lazy.created()).toBe(2);
  });
});
