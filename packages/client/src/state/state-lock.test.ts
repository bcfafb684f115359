import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeStateFiles } from '../platform/node/state-files.js';
import { withStateLock } from './state-lock.js';

let dir: string;
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'conduit-lock-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('runs one holder at a time', async () => {
  const path = join(dir, 'serial.lock');
  const order: string[] = [];
  const hold = (name: string) =>
    withStateLock(nodeStateFiles, path, async () => {
      order.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      order.push(`${name} out`);
    });
  await Promise.all([hold('a'), hold('b')]);
  expect(order).toEqual(order[0] === 'a in' ? ['a in', 'a out', 'b in', 'b out'] : ['b in', 'b out', 'a in', 'a out']);
});

it('breaks a stale lock, and one a crashed holder left without a time', async () => {
  for (const left of [String(Date.now() - 10_000), '']) {
    const path = join(dir, `left-${left.length}.lock`);
    await writeFile(path, left);
    await expect(withStateLock(nodeStateFiles, path, async () => 'ran', 200)).resolves.toBe('ran');
  }
});
