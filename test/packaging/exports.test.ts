import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// Issue 12: packages meet only at their public entry points. Every workspace declares `exports`
// (Node then refuses any other path into it, and eslint's deep-import rules catch relative ones);
// the test workspace declares an empty map because nothing may import from it.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function manifest(folder: string): Promise<{ name?: string; exports?: unknown; workspaces?: string[] }> {
  return JSON.parse(await readFile(join(ROOT, folder, 'package.json'), 'utf8'));
}

it('every workspace package declares exports', async () => {
  const { workspaces = [] } = await manifest('.');
  expect(workspaces.length).toBeGreaterThan(0);
  const missing: string[] = [];
  for (const folder of workspaces) {
    const { name, exports } = await manifest(folder);
    if (typeof exports !== 'object' || exports === null) missing.push(`${name ?? folder} (${folder})`);
  }
  expect(missing).toEqual([]);
});
