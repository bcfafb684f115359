import { execFileSync, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `conduit-devstack` runs the local stack and the demo without the CLI. Like `conduit`, its bin is
// a committed file (npm links bins before dist/ is built) that runs the build.
const PKG = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(PKG, 'bin/conduit-devstack.js');
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('the conduit-devstack bin', () => {
  it('is a committed, executable file outside dist/', async () => {
    const { bin } = JSON.parse(await readFile(join(PKG, 'package.json'), 'utf8')) as {
      bin: { 'conduit-devstack': string };
    };
    expect(bin['conduit-devstack']).toBe('./bin/conduit-devstack.js');
    const tracked = execFileSync('git', ['ls-files', '-s', bin['conduit-devstack']], { cwd: PKG, encoding: 'utf8' });
    expect(tracked).toMatch(/^100755 /);
  });

  it('prints its usage with --help', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: conduit-devstack stack up/);
  });

  it('refuses an unknown command or option with exit 2 and the usage', () => {
    for (const args of [['stack', 'down'], ['demo', '--bogus'], []]) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('error USAGE: ');
      expect(r.stderr).toContain('Usage: conduit-devstack');
    }
  });

  it('refuses a base port out of range before starting anything', () => {
    const r = run(['stack', 'up', '--port', '80']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error CONFIG: Invalid stack base port 80');
  });
});
