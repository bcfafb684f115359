import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('../../', import.meta.url));

describe('conduit --version', () => {
  it("prints the package's version and exits 0", () => {
    const { version } = JSON.parse(readFileSync(`${PKG}package.json`, 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = spawnSync(process.execPath, [`${PKG}bin/conduit.js`, flag], { encoding: 'utf8' });
      expect(run.status).toBe(0);
      expect(run.stdout.trim()).toBe(version);
    }
  });
});
