import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

// Issue 11 item 5: the output folder is checked before anything waits (no server is needed to
// fail): a missing one is created only with --mkdir, an unwritable one fails at once.
describe('conduit receive --out', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-outdir-'));
    await chmod(dir, 0o755); // traversable by the unprivileged user below
    // Port 9 (discard): nothing answers; the folder checks come first.
    env = { CONDUIT_HOME: join(dir, 'home'), CONDUIT_SERVER_URL: 'http://127.0.0.1:9', CONDUIT_PASSWORD: 'x' };
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const receive = (out: string, ...more: string[]) =>
    runCli(['--as', 'bob', 'receive', 'a'.repeat(32), '--out', out, ...more], env, { timeoutMs: 20_000 });

  it('refuses a missing folder with a hint to --mkdir, and creates nothing', async () => {
    const out = join(dir, 'missing', 'inbox');
    const r = await receive(out, '--once');
    expect(r.stderr).toContain(`error OUT_DIR_MISSING: The output folder ${out} does not exist.`);
    expect(r.stderr).toContain('hint: create the folder, pass --mkdir');
    expect(r.code).toBe(2);
    await expect(stat(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates a missing folder with --mkdir and says so', async () => {
    const out = join(dir, 'made', 'inbox');
    const r = await receive(out, '--mkdir', '--once', '--timeout', '1');
    expect(r.stderr).toContain(`created ${out}`);
    expect((await stat(out)).isDirectory()).toBe(true);
    expect(r.stderr).not.toContain('OUT_DIR');
  });

  it('refuses a file given as --out', async () => {
    const out = join(dir, 'a-file');
    await writeFile(out, 'x');
    const r = await receive(out, '--once');
    expect(r.stderr).toContain(`error OUT_DIR_UNUSABLE: Cannot receive into ${out}: it is not a folder.`);
    expect(r.stderr).toContain('hint: choose a folder you can write to with --out');
    expect(r.code).toBe(2);
  });

  it('fails at once on a folder the user cannot write to, even with --once and no timeout', async () => {
    const out = join(dir, 'readonly');
    await mkdir(out, { mode: 0o555 });
    await chmod(out, 0o555);
    const home = join(dir, 'nobody-home');
    await mkdir(home, { mode: 0o777 });
    await chmod(home, 0o777);
    const started = Date.now();
    const r = await runCli(
      ['--as', 'bob', 'receive', 'a'.repeat(32), '--out', out, '--once'],
      { ...env, CONDUIT_HOME: home },
      { uid: 65534, gid: 65534, timeoutMs: 20_000 },
    );
    expect(r.stderr).toContain(
      `error OUT_DIR_UNUSABLE: Cannot receive into ${out}: this user cannot create files in it (EACCES).`,
    );
    expect(r.stderr).toContain('hint: choose a folder you can write to with --out');
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
