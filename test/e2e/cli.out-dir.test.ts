import { chmod, mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
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

  it('says nothing on stderr about it with --quiet, and still creates it', async () => {
    const out = join(dir, 'quiet', 'inbox');
    const r = await receive(out, '--mkdir', '--once', '--timeout', '1');
    const quiet = await runCli(
      ['--quiet', '--as', 'bob', 'receive', 'a'.repeat(32), '--out', `${out}-2`, '--mkdir'],
      env,
      {
        timeoutMs: 20_000,
      },
    );
    expect(r.stderr).toContain(`created ${out}`);
    expect((await stat(`${out}-2`)).isDirectory()).toBe(true);
    expect(quiet.stderr).not.toContain('created');
    expect(quiet.code).toBe(r.code); // the same outcome otherwise (no server answers here)
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

// Issue 11 item 3: abandoned partial downloads (decrypted plaintext) are removed by the next
// receive into their folder after PARTIAL_MAX_AGE_MS (7 days), and by `conduit clean`.
describe('abandoned partial downloads', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const DAY = 24 * 60 * 60 * 1000;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-abandoned-'));
    env = { CONDUIT_HOME: join(dir, 'home'), CONDUIT_SERVER_URL: 'http://127.0.0.1:9', CONDUIT_PASSWORD: 'x' };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const partial = async (out: string, name: string, ageMs: number) => {
    const folder = join(out, `.conduit-partial-${name}`);
    await mkdir(folder, { mode: 0o700 });
    await writeFile(join(folder, 'content'), 'decrypted plaintext', { mode: 0o600 });
    const when = new Date(Date.now() - ageMs);
    await utimes(join(folder, 'content'), when, when);
    await utimes(folder, when, when);
    return folder;
  };

  it('the next receive removes abandoned ones and keeps young ones; clean removes the rest', async () => {
    const out = join(dir, 'inbox');
    await mkdir(out);
    const old = await partial(out, 'old', 8 * DAY);
    const young = await partial(out, 'young', 6 * DAY);
    const downloads = join(dir, 'home', 'bob', 'downloads');
    await mkdir(downloads, { recursive: true });
    await writeFile(join(downloads, 'p1.json'), JSON.stringify({ v: 2, folder: old }));
    await writeFile(join(downloads, 'p2.json'), JSON.stringify({ v: 2, folder: young }));

    // The server is unreachable: the clean-up comes first, then receiving fails.
    const r = await runCli(['--as', 'bob', 'receive', 'a'.repeat(32), '--out', out, '--once'], env);
    expect(r.stderr).toContain(`removed 1 abandoned partial download(s) from ${out}`);
    expect(await readdir(out)).toEqual(['.conduit-partial-young']);
    expect(await readdir(downloads)).toEqual(['p2.json']); // the young download can still resume

    const keep = await runCli(['--as', 'bob', 'clean', '--out', out], env);
    expect(keep.code, keep.stderr).toBe(0);
    expect(keep.stdout).toContain(`removed 0 abandoned partial download(s) from ${out}`);

    const all = await runCli(['--as', 'bob', '--json', 'clean', '--out', out, '--older-than', '0'], env);
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({ outDir: out, removed: [young], checkpoints: 1 });
    expect(await readdir(out)).toEqual([]);
    expect(await readdir(downloads)).toEqual([]);
  });
});
