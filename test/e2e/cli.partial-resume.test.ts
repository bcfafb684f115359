import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open as openFile, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { CLI, runCli } from './support/cli.js';
import { clientOn } from './support/stack-client.js';

const MiB = 1024 * 1024;
/**
 * Large enough to outlast the first checkpoint (a second in) on a quiet machine: 192 MiB once
 * finished in under a second with one range in flight, before any checkpoint was saved.
 */
const FILE_BYTES = 512 * MiB;
const DAY = 24 * 60 * 60 * 1000;

// Issue 11 item 3 on a real download: a receive killed mid-download leaves one private partial
// folder (0700, file 0600) and its checkpoint; the next receive resumes it within the age (the
// final file is the partial file itself, hard-linked), or, once abandoned, removes it and starts over.
describe('interrupted downloads: resumed, or removed once abandoned', () => {
  let dir: string;
  let stack: LocalStack;
  let groupId: string;
  const PW = { alice: 'alice password 1', bob: 'bob password 123' };
  const env = () => ({ ...stack.clientEnv, CONDUIT_HOME: join(dir, 'home'), CONDUIT_PASSWORD: PW.bob });
  const downloads = () => join(dir, 'home', 'bob', 'downloads');
  const open = (who: keyof typeof PW) =>
    ConduitClient.open({ ...clientOn(stack, join(dir, 'home'), who), keyPassword: async () => PW[who] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-partial-e2e-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    const bob = await open('bob');
    await bob.register(PW.bob);
    await bob.close();
    const alice = await open('alice');
    await alice.register(PW.alice);
    groupId = (await alice.createGroup(['bob'])).groupId;
    await alice.close();
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const sendFile = async (name: string) => {
    const data = randomBytes(FILE_BYTES);
    await writeFile(join(dir, name), data);
    const alice = await open('alice');
    try {
      await alice.sendFile(groupId, join(dir, name));
    } finally {
      await alice.close();
    }
    return createHash('sha256').update(data).digest('hex');
  };

  /** Verified ranges recorded by the (only) checkpoint, or -1 while there is none. */
  const verifiedRanges = async (): Promise<number> => {
    const [name] = (await readdir(downloads()).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    if (!name) return -1;
    try {
      const saved = JSON.parse(await readFile(join(downloads(), name), 'utf8')) as { done: string };
      let bits = 0;
      for (const byte of Buffer.from(saved.done, 'base64')) for (let b = byte; b; b >>= 1) bits += b & 1;
      return bits;
    } catch {
      return -1; // being replaced (write, fsync, rename): read it again
    }
  };

  /**
   * `receive --once` killed (SIGKILL) as soon as a checkpoint records more than `after` verified
   * ranges (saved at most once a second: the file is large enough for the download to outlast that).
   */
  const receiveKilled = async (out: string, after = -1) => {
    const child = spawn(
      process.execPath,
      [CLI, '--as', 'bob', 'receive', groupId, '--once', '--concurrency', '1', '--out', out],
      { env: { ...process.env, ...env() }, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let ranges = -1;
    for (let polling = true; polling;) {
      ranges = await verifiedRanges();
      if (ranges > after && ranges >= 0) {
        child.kill('SIGKILL');
        polling = false;
      } else if (child.exitCode !== null) polling = false;
      else await new Promise((r) => setTimeout(r, 5));
    }
    expect(await exited).toBeNull(); // killed, not finished
    const partials = (await readdir(out)).filter((n) => n.startsWith('.conduit-partial-'));
    expect(partials).toHaveLength(1);
    const folder = join(out, partials[0] as string);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    const content = await stat(join(folder, 'content'));
    expect(content.mode & 0o777).toBe(0o600);
    const [checkpoint] = await readdir(downloads());
    const saved = JSON.parse(await readFile(join(downloads(), checkpoint as string), 'utf8')) as { folder: string };
    expect(saved.folder).toBe(folder);
    return { folder, inode: content.ino, ranges };
  };

  const receiveRest = async (out: string) => {
    const r = await runCli(['--json', '--as', 'bob', 'receive', groupId, '--once', '--out', out], env());
    expect(r.code, r.stderr).toBe(0);
    const file = JSON.parse(r.stdout) as { path: string };
    const sha = createHash('sha256')
      .update(await readFile(file.path))
      .digest('hex');
    return { ...r, path: file.path, sha, inode: (await stat(file.path)).ino };
  };

  it('resumes a download interrupted less than 7 days ago in the same folder', async () => {
    const sha = await sendFile('young.bin');
    const out = join(dir, 'inbox-young');
    await mkdir(out);
    const killed = await receiveKilled(out);
    const when = new Date(Date.now() - 6 * DAY);
    await utimes(join(killed.folder, 'content'), when, when);
    await utimes(killed.folder, when, when);
    const rest = await receiveRest(out);
    expect(rest.sha).toBe(sha);
    expect(rest.inode).toBe(killed.inode); // the partial file itself got the final name
    expect(rest.stderr).not.toContain('removedPartials');
    expect(await readdir(out)).toEqual(['young.bin']);
    expect(await readdir(downloads())).toEqual([]);
  });

  it('resumes in the same private folder after interruptions at several points', async () => {
    // Large enough that the resumed run is still downloading when its next checkpoint is saved.
    const sha = await sendFile('several.bin');
    const out = join(dir, 'inbox-several');
    await mkdir(out);
    const first = await receiveKilled(out);
    // Killed again later in the same download (a third kill could find it already finished).
    const second = await receiveKilled(out, first.ranges);
    expect(second.folder).toBe(first.folder); // the resume continued where the first run stopped
    expect(second.inode).toBe(first.inode);
    expect(second.ranges).toBeGreaterThan(first.ranges);
    const rest = await receiveRest(out);
    expect(rest.sha).toBe(sha);
    expect(rest.inode).toBe(first.inode);
    expect(await readdir(out)).toEqual(['several.bin']);
    expect(await readdir(downloads())).toEqual([]);
  });

  it('removes a download abandoned for more than 7 days and starts over', async () => {
    const sha = await sendFile('old.bin');
    const out = join(dir, 'inbox-old');
    await mkdir(out);
    const killed = await receiveKilled(out);
    const when = new Date(Date.now() - 8 * DAY);
    await utimes(join(killed.folder, 'content'), when, when);
    await utimes(killed.folder, when, when);
    // Held open, the old partial's inode stays allocated after its removal, so a file started over
    // cannot be handed the same inode number (file systems reuse freed ones at once).
    const held = await openFile(join(killed.folder, 'content'), 'r');
    const rest = await receiveRest(out).finally(() => held.close());
    expect(JSON.parse(rest.stderr.split('\n')[0] ?? '')).toEqual({ notice: { removedPartials: [killed.folder] } });
    expect(rest.sha).toBe(sha);
    expect(rest.inode).not.toBe(killed.inode);
    expect(await readdir(out)).toEqual(['old.bin']);
    expect(await readdir(downloads())).toEqual([]);
  });
});
