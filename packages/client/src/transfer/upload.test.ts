import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ciphertextSize, decryptBuffer, headerDigest, padme } from '@conduit/shared';
import type { TransferProgress } from './progress.js';
import { uploadFile } from './upload.js';
import {
  GROUP,
  sealer,
  storage,
  dir,
  useTransferFixture,
  MiB,
  sha,
  uploadCtx,
  makeFile,
  runChildUntilParts,
} from './transfer.fixture.js';

useTransferFixture();

describe('uploadFile', () => {
  it('stores a padded container in whole-segment parts, with the header in part 1', async () => {
    const { path, data } = await makeFile('a.bin', 20 * MiB + 12345);
    const events: TransferProgress[] = [];
    storage.puts = [];
    const up = await uploadFile(
      uploadCtx(join(dir, 'state-a')),
      GROUP,
      path,
      { name: 'a.bin', type: 'x/y' },
      {
        segmentSize: 1 * MiB,
        onProgress: (e) => events.push(e),
      },
    );
    expect(up.paddedLength).toBe(padme(data.length));
    expect(up.size).toBe(ciphertextSize(padme(data.length), MiB));
    const stored = storage.objects.get(up.objectId) as Buffer;
    expect(stored.length).toBe(up.size);
    expect(stored.subarray(0, 42).equals(up.header)).toBe(true);
    // 8 segments per part: 21 segments of stream -> 3 parts, the first 42 + 8 x (1 MiB + 16) bytes.
    expect([...storage.puts].sort()).toEqual([1, 2, 3]);
    const plain = decryptBuffer(stored, {
      contentKey: up.contentKey,
      plainLength: data.length,
      paddedLength: up.paddedLength,
      headerDigest: headerDigest(up.header),
    });
    expect(plain.equals(data)).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: 'uploading', bytesDone: data.length, bytesTotal: data.length });
    await up.finish();
    expect(await readdir(join(dir, 'state-a'))).toEqual([]);
  });

  it('retries a part after a 5xx and never re-encrypts different bytes for it', async () => {
    const { path, data } = await makeFile('retry.bin', 3 * MiB);
    storage.failPuts = { count: 2, status: 503 };
    const up = await uploadFile(
      uploadCtx(join(dir, 'state-r')),
      GROUP,
      path,
      { name: 'r', type: 'x/y' },
      { pad: false },
    );
    expect(up.paddedLength).toBe(data.length);
    expect(storage.objects.get(up.objectId)?.length).toBe(ciphertextSize(data.length, MiB));
    await up.finish();
  });

  it('keeps the state owner-only and never stores the content key in the clear', async () => {
    const { path } = await makeFile('state.bin', 1 * MiB);
    const stateDir = join(dir, 'state-s');
    const up = await uploadFile(uploadCtx(stateDir), GROUP, path, { name: 's', type: 'x/y' });
    const [file] = await readdir(stateDir);
    const statePath = join(stateDir, file as string);
    expect((await stat(statePath)).mode & 0o777).toBe(0o600);
    const text = await readFile(statePath, 'utf8');
    expect(text.includes(up.contentKey.toString('base64'))).toBe(false);
    expect(text.includes(up.contentKey.toString('hex'))).toBe(false);
    await up.finish();
  });

  it('resumes after the sending process is killed mid-upload, re-sending only unfinished parts', async () => {
    const { path, data } = await makeFile('killed.bin', 64 * MiB);
    const stateDir = join(dir, 'state-k');
    storage.puts = [];
    await runChildUntilParts(path, stateDir, 3);
    const statePath = join(stateDir, (await readdir(stateDir))[0] as string);
    const doneBefore = (await readFile(statePath, 'utf8'))
      .split('\n')
      .filter((l) => l.includes('"done"'))
      .map((l) => (JSON.parse(l) as { done: number }).done);
    expect(doneBefore.length).toBeGreaterThanOrEqual(2);
    storage.puts = [];
    const up = await uploadFile(uploadCtx(stateDir), GROUP, path, { name: 'k', type: 'x/y' });
    expect(up.resumed).toBe(true);
    // 64 MiB = 8 parts: the ones recorded as done were not sent again, all others were.
    expect(storage.puts.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].filter((p) => !doneBefore.includes(p)));
    const stored = storage.objects.get(up.objectId) as Buffer;
    const plain = decryptBuffer(stored, {
      contentKey: up.contentKey,
      plainLength: data.length,
      paddedLength: up.paddedLength,
    });
    expect(sha(plain)).toBe(sha(data));
    await up.finish();
  });

  it('starts a new object with a fresh key when the file changed between attempts', async () => {
    const { path, data } = await makeFile('changed.bin', 64 * MiB);
    const stateDir = join(dir, 'state-c');
    await runChildUntilParts(path, stateDir, 2);
    const first = JSON.parse(
      (await readFile(join(stateDir, (await readdir(stateDir))[0] as string), 'utf8')).split('\n')[0] as string,
    ) as {
      objectId: string;
      uploadId: string;
      sealedKey: string;
      mtimeMs: number;
    };
    const oldKey = await sealer.open(first.sealedKey);
    // Same size and mtime: only the digests of the parts already sent can tell.
    data[100] = (data[100] as number) ^ 0xff;
    await writeFile(path, data);
    await utimes(path, new Date(), new Date(first.mtimeMs));
    const up = await uploadFile(uploadCtx(stateDir), GROUP, path, { name: 'c', type: 'x/y' });
    expect(up.resumed).toBe(false);
    expect(up.objectId).not.toBe(first.objectId);
    expect(up.contentKey.equals(oldKey)).toBe(false);
    expect(storage.uploads.get(first.uploadId)?.aborted).toBe(true);
    const plain = decryptBuffer(storage.objects.get(up.objectId) as Buffer, {
      contentKey: up.contentKey,
      plainLength: data.length,
      paddedLength: up.paddedLength,
    });
    expect(plain.equals(data)).toBe(true);
    await up.finish();
  });

  it('refuses --resume when there is nothing to resume', async () => {
    const { path } = await makeFile('none.bin', 1000);
    await expect(
      uploadFile(uploadCtx(join(dir, 'state-n')), GROUP, path, { name: 'n', type: 'x/y' }, { resume: 'require' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
