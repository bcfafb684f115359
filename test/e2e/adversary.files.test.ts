import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync } from 'node:fs';
import {
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, type ReceivedFile, type TransferProgress } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import type { ConduitError } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

// Issue 10 G: a receiver's output folder may be shared with someone hostile (a synced folder, a
// world-writable drop). Links planted there must never redirect where plaintext is written: the
// download lives in its own private folder, and a planted link is refused with UNSAFE_PATH while
// its target keeps its bytes and mtime. Real stack, unmodified SDKs.

const PREFIX = '.conduit-partial-';
const MiB = 1024 * 1024;

describe('adversary: symbolic links planted in the receiver’s output folder', () => {
  let dir: string;
  let stack: LocalStack;
  let alice: ConduitClient;
  let bob: ConduitClient;
  const clients: ConduitClient[] = [];

  const open = async (identity: string, device: string, password: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    await client.register(password);
    return client;
  };

  /** A file outside the inbox that planted links point at, with a known mtime. */
  const victim = async (label: string) => {
    const path = join(dir, `victim-${label}.txt`);
    const bytes = `not the download: ${label}`;
    const time = new Date('2021-06-07T08:09:10Z');
    await writeFile(path, bytes);
    await utimes(path, time, time);
    return {
      path,
      async expectUntouched() {
        expect(await readFile(path, 'utf8')).toBe(bytes);
        expect((await stat(path)).mtime).toEqual(time);
      },
    };
  };

  /** A fresh group with one file from alice, so each case receives exactly that file. */
  const share = async (name: string, size: number) => {
    const { groupId } = await alice.createGroup(['bob']);
    const plain = randomBytes(size);
    const source = join(dir, `src-${name}`);
    await writeFile(source, plain);
    const sent = await alice.sendFile(groupId, source, { name });
    return { groupId, plain, sent };
  };

  /** bob receives until the first file or the first refusal. */
  const receiveOnce = async (
    groupId: string,
    outDir: string,
    onProgress?: (p: TransferProgress, stop: () => void) => void,
  ): Promise<{ file?: ReceivedFile; error?: ConduitError }> => {
    const stop = new AbortController();
    let outcome: { file?: ReceivedFile; error?: ConduitError } = {};
    const timer = setTimeout(() => stop.abort(), 30_000);
    await bob.receive(groupId, {
      outDir,
      concurrency: 1,
      signal: stop.signal,
      onProgress: onProgress && ((p) => onProgress(p, () => stop.abort())),
      onFile: (file) => {
        outcome = { file };
        stop.abort();
      },
      onError: (error) => {
        outcome = { error };
        stop.abort();
      },
    });
    clearTimeout(timer);
    return outcome;
  };

  const partialFolders = async (outDir: string) => (await readdir(outDir)).filter((f) => f.startsWith(PREFIX));
  const bobsAck = async (pointerId: string) =>
    (await alice.status(pointerId)).acknowledged.some((e) => e.identity === 'bob');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-adversary-files-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    alice = await open('alice', 'alice-laptop', 'alice password 1');
    bob = await open('bob', 'bob-phone', 'bob password 123');
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads into a private 0700 folder with a 0600 file, never through a link at the old partial name', async () => {
    const { groupId, plain, sent } = await share('scan.pdf', 3 * MiB);
    const out = join(dir, 'inbox-private');
    await mkdir(out);
    // Where the client used to write its partial file: a predictable name an attacker can plant.
    const target = await victim('legacy-partial');
    await symlink(target.path, join(out, `scan.pdf.${sent.pointerId.slice(0, 8)}.conduit-partial`));

    // While the download runs: exactly one private folder, holding one private regular file.
    const seen: string[] = [];
    const { file, error } = await receiveOnce(groupId, out, (p) => {
      if (p.phase !== 'downloading') return;
      const folders = readdirSync(out).filter((f) => f.startsWith(PREFIX));
      for (const folder of folders) {
        const stats = lstatSync(join(out, folder));
        const entries = readdirSync(join(out, folder)).map((e) => lstatSync(join(out, folder, e)));
        const files = entries.map((e) => `${e.isFile() ? 'file' : 'other'} ${(e.mode & 0o777).toString(8)}`);
        seen.push(
          `${folders.length} ${stats.isDirectory() ? 'dir' : 'other'} ${(stats.mode & 0o777).toString(8)}: ${files.join()}`,
        );
      }
    });
    expect(error).toBeUndefined();
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set(['1 dir 700: file 600']));
    expect((await readFile(file!.path)).equals(plain)).toBe(true);
    expect(file!.path).toBe(join(out, 'scan.pdf'));
    await target.expectUntouched();
    expect(await partialFolders(out)).toEqual([]);
    expect(await bobsAck(sent.pointerId)).toBe(true);
  });

  it('refuses a link planted under the final name (UNSAFE_PATH): target untouched, nothing left, no receipt', async () => {
    const { groupId, plain, sent } = await share('results.csv', 200_000);
    const out = join(dir, 'inbox-final');
    await mkdir(out);
    const target = await victim('final');
    await symlink(target.path, join(out, 'results.csv'));

    const refused = await receiveOnce(groupId, out);
    expect(refused.file).toBeUndefined();
    expect(refused.error).toMatchObject({ code: 'UNSAFE_PATH' });
    await target.expectUntouched();
    expect(await partialFolders(out)).toEqual([]);
    expect(await bobsAck(sent.pointerId)).toBe(false);

    // Once the link is gone, the same pointer is received normally.
    await unlink(join(out, 'results.csv'));
    const { file } = await receiveOnce(groupId, out);
    expect((await readFile(file!.path)).equals(plain)).toBe(true);
    expect(await bobsAck(sent.pointerId)).toBe(true);
    await target.expectUntouched();
  });

  it('refuses to resume through a link planted at the partial path or at the private folder', async () => {
    const { groupId, plain, sent } = await share('archive.tar', 20 * MiB);
    const out = join(dir, 'inbox-resume');
    await mkdir(out);
    const interrupt = async () => {
      const cut = await receiveOnce(groupId, out, (p, stop) => {
        if (p.bytesDone > 0) stop();
      });
      expect(cut.file).toBeUndefined();
      const folders = await partialFolders(out);
      expect(folders).toHaveLength(1);
      return join(out, folders[0]!);
    };

    // 1. The partial file inside the recorded folder swapped for a link.
    const folder = await interrupt();
    const target = await victim('resume-partial');
    const [content] = await readdir(folder);
    await unlink(join(folder, content!));
    await symlink(target.path, join(folder, content!));
    expect((await receiveOnce(groupId, out)).error).toMatchObject({ code: 'UNSAFE_PATH' });
    await target.expectUntouched();
    expect(await bobsAck(sent.pointerId)).toBe(false);

    // 2. The recorded folder itself swapped for a link to another folder.
    await rm(folder, { recursive: true });
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o700 });
    await writeFile(join(elsewhere, content!), 'someone else’s file', { mode: 0o600 });
    await symlink(elsewhere, folder);
    expect((await receiveOnce(groupId, out)).error).toMatchObject({ code: 'UNSAFE_PATH' });
    expect(await readFile(join(elsewhere, content!), 'utf8')).toBe('someone else’s file');
    expect(await bobsAck(sent.pointerId)).toBe(false);

    // 3. Without the link the download starts afresh, and a later interruption resumes in place.
    await unlink(folder);
    const second = await interrupt();
    const during = new Set<string>();
    const { file } = await receiveOnce(groupId, out, () => {
      for (const f of readdirSync(out).filter((f) => f.startsWith(PREFIX))) during.add(join(out, f));
    });
    // Resumed in the recorded folder, not a new one.
    expect([...during]).toEqual([second]);
    expect((await readFile(file!.path)).equals(plain)).toBe(true);
    expect(await partialFolders(out)).toEqual([]);
    expect(await bobsAck(sent.pointerId)).toBe(true);
  });

  it('an interrupted download whose folder was moved away starts afresh in a new folder', async () => {
    const { groupId, plain } = await share('notes.txt', 12 * MiB);
    const out = join(dir, 'inbox-moved');
    await mkdir(out);
    const cut = await receiveOnce(groupId, out, (p, stop) => {
      if (p.bytesDone > 0) stop();
    });
    expect(cut.file).toBeUndefined();
    const [folder] = await partialFolders(out);
    await rename(join(out, folder!), join(dir, 'moved-away'));
    const { file } = await receiveOnce(groupId, out);
    expect((await readFile(file!.path)).equals(plain)).toBe(true);
    expect(await partialFolders(out)).toEqual([]);
  });
});
