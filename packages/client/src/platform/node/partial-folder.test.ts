import { execFileSync } from 'node:child_process';
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createPartial,
  discardPartial,
  PARTIAL_FOLDER_PREFIX,
  publishPartial,
  reopenPartial,
} from './partial-folder.js';

let root: string;
let out: string;
/** A file outside the output folder that a planted link points at: it must never change. */
let victim: string;
const VICTIM_BYTES = 'precious bytes that are not the download';
const VICTIM_TIME = new Date('2020-01-02T03:04:05Z');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'conduit-partial-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  out = await mkdtemp(join(root, 'inbox-'));
  victim = join(root, `victim-${Date.now()}-${Math.random()}`);
  await writeFile(victim, VICTIM_BYTES);
  await utimes(victim, VICTIM_TIME, VICTIM_TIME);
});

const expectVictimUntouched = async () => {
  expect(await readFile(victim, 'utf8')).toBe(VICTIM_BYTES);
  expect((await stat(victim)).mtime).toEqual(VICTIM_TIME);
};

/** An interrupted download: a folder with some verified bytes in its partial file. */
const interrupted = async () => {
  const p = await createPartial(out);
  await p.fh.write('verified so far', 0);
  await p.fh.close();
  return p;
};

describe('createPartial', () => {
  it('makes a fresh 0700 folder per download with an empty 0600 file in it', async () => {
    const [a, b] = [await createPartial(out), await createPartial(out)];
    try {
      expect(a.folder).not.toBe(b.folder);
      for (const p of [a, b]) {
        expect(p.folder.startsWith(join(out, PARTIAL_FOLDER_PREFIX))).toBe(true);
        expect(p.resumed).toBe(false);
        const dir = await lstat(p.folder);
        expect(dir.isDirectory()).toBe(true);
        expect(dir.mode & 0o777).toBe(0o700);
        const file = await lstat(p.path);
        expect(file.isFile()).toBe(true);
        expect(file.mode & 0o777).toBe(0o600);
        expect(file.size).toBe(0);
      }
    } finally {
      await a.fh.close();
      await b.fh.close();
    }
  });
});

describe('reopenPartial', () => {
  it('resumes the same file in the same folder', async () => {
    const p = await interrupted();
    const again = await reopenPartial(p.folder);
    expect(again).toMatchObject({ folder: p.folder, path: p.path, resumed: true });
    await again?.fh.close();
    expect(await readFile(p.path, 'utf8')).toBe('verified so far');
  });

  it('answers undefined when the folder is gone, and starts afresh when only the file is', async () => {
    const p = await interrupted();
    await unlink(p.path);
    const fresh = await reopenPartial(p.folder);
    expect(fresh).toMatchObject({ folder: p.folder, resumed: false });
    await fresh?.fh.close();
    await discardPartial(p.folder);
    expect(await reopenPartial(p.folder)).toBeUndefined();
  });

  it('refuses a symbolic link planted at the partial path; the target is untouched', async () => {
    const p = await interrupted();
    await unlink(p.path);
    await symlink(victim, p.path);
    await expect(reopenPartial(p.folder)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expectVictimUntouched();
  });

  it('refuses a symbolic link planted at the folder path; the folder it names is untouched', async () => {
    const p = await interrupted();
    const elsewhere = join(root, `elsewhere-${Date.now()}`);
    await rename(p.folder, elsewhere);
    await symlink(elsewhere, p.folder);
    await expect(reopenPartial(p.folder)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(await readFile(join(elsewhere, 'content'), 'utf8')).toBe('verified so far');
  });

  it('refuses a folder others may enter, a file with another name elsewhere, and a pipe', async () => {
    const wide = await interrupted();
    await chmod(wide.folder, 0o755);
    await expect(reopenPartial(wide.folder)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });

    const linked = await interrupted();
    await unlink(linked.path);
    await link(victim, linked.path);
    await expect(reopenPartial(linked.folder)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expectVictimUntouched();

    const piped = await interrupted();
    await unlink(piped.path);
    execFileSync('mkfifo', ['-m', '600', piped.path]);
    await expect(reopenPartial(piped.folder)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });

    const dir = join(out, `${PARTIAL_FOLDER_PREFIX}not-a-dir`);
    await writeFile(dir, 'x');
    await expect(reopenPartial(dir)).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
  });
});

describe('publishPartial', () => {
  const finished = async (text: string) => {
    const p = await createPartial(out);
    await p.fh.write(text, 0);
    await p.fh.close();
    return p;
  };

  it('names the file, never over an existing one, and removes the folder', async () => {
    await mkdir(out, { recursive: true });
    const first = await publishPartial(await finished('one'), out, 'report.bin');
    const second = await publishPartial(await finished('two'), out, 'report.bin');
    expect([first, second]).toEqual([join(out, 'report.bin'), join(out, 'report (1).bin')]);
    expect(await readFile(first, 'utf8')).toBe('one');
    expect(await readFile(second, 'utf8')).toBe('two');
    expect((await stat(second)).mode & 0o777).toBe(0o600);
    expect((await readdir(out)).sort()).toEqual(['report (1).bin', 'report.bin']);
  });

  it('refuses a symbolic link under the final name, dangling or not; its target is untouched', async () => {
    await symlink(victim, join(out, 'report.bin'));
    const p = await finished('download');
    await expect(publishPartial(p, out, 'report.bin')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expectVictimUntouched();

    await symlink(join(root, 'does-not-exist'), join(out, 'other.bin'));
    await expect(publishPartial(p, out, 'other.bin')).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    await expect(lstat(join(root, 'does-not-exist'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
