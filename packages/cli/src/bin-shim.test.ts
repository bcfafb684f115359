import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// npm links a package's bins at install time, when dist/ is not built yet: the bin must be a
// committed file (issue 11 item 2), which runs the built CLI or says how to build it.
const PKG = fileURLToPath(new URL('../', import.meta.url));
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('the conduit bin', () => {
  it('is a committed, executable file outside dist/', async () => {
    const { bin } = JSON.parse(await readFile(join(PKG, 'package.json'), 'utf8')) as { bin: { conduit: string } };
    expect(bin.conduit).not.toMatch(/^(\.\/)?dist\//);
    const tracked = execFileSync('git', ['ls-files', '-s', bin.conduit], { cwd: PKG, encoding: 'utf8' });
    expect(tracked).toMatch(/^100755 /);
  });

  it('runs the built CLI', () => {
    const run = spawnSync(process.execPath, [join(PKG, 'bin/conduit.js'), '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: conduit/);
  });

  it('says to run `npm run build` when the CLI is not built', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conduit-bin-'));
    dirs.push(dir);
    await mkdir(join(dir, 'bin'));
    await copyFile(join(PKG, 'bin/conduit.js'), join(dir, 'bin/conduit.js'));
    const run = spawnSync(process.execPath, [join(dir, 'bin/conduit.js'), '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('error CONFIG: the conduit CLI is not built yet.');
    expect(run.stderr).toContain('hint: run `npm run build`');
  });
});
