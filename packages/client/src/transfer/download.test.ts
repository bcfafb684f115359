import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PointerV1 } from '@conduit/shared';
import { openEnvelope } from '../files/envelope.js';
import { nodeDownloadSink } from '../platform/node/download-sink.js';
import { nodeObjectStorage } from '../platform/node/http-storage.js';
import { nodeStateFiles } from '../platform/node/state-files.js';
import { downloadToFile } from './download.js';
import { DownloadStateStore } from './download-state.js';
import { readPlainRange } from './range-read.js';
import type { TransferProgress } from './progress.js';
import { uploadFile } from './upload.js';
import {
  GROUP,
  hex,
  groupCipher,
  storage,
  dir,
  api,
  useTransferFixture,
  MiB,
  sha,
  uploadCtx,
  makeFile,
  pointerFor,
} from './transfer.fixture.js';

useTransferFixture();

describe('downloadToFile and readPlainRange', () => {
  let pointer: PointerV1;
  let data: Buffer;

  beforeAll(async () => {
    const file = await makeFile('dl-src.bin', 30 * MiB + 777);
    data = file.data;
    const up = await uploadFile(
      uploadCtx(join(dir, 'state-d')),
      GROUP,
      file.path,
      { name: 'x', type: 'x/y' },
      { segmentSize: 256 * 1024 },
    );
    pointer = await pointerFor(up, 'report.bin');
    await up.finish();
  });

  it('downloads with parallel ranges, verifies, truncates padding and names the file', async () => {
    const out = join(dir, 'inbox-1');
    const envelope = await openEnvelope(pointer, groupCipher.decrypt);
    storage.ranges = [];
    const events: TransferProgress[] = [];
    const path = await downloadToFile(
      {
        api,
        store: new DownloadStateStore(join(dir, 'dl-state-1'), nodeStateFiles),
        sink: nodeDownloadSink,
        storage: nodeObjectStorage,
        log: () => undefined,
      },
      pointer,
      envelope,
      out,
      'report.bin',
      { onProgress: (e) => events.push(e) },
    );
    expect(path).toBe(join(out, 'report.bin'));
    expect(sha(await readFile(path))).toBe(sha(data));
    expect(await readdir(out)).toEqual(['report.bin']);
    expect(storage.ranges.length).toBeGreaterThan(3);
    expect(events.at(-1)).toMatchObject({ phase: 'finishing', bytesDone: data.length });
  });

  it('resumes after a broken connection and refuses a tampered object without releasing plaintext', async () => {
    const out = join(dir, 'inbox-2');
    const envelope = await openEnvelope(pointer, groupCipher.decrypt);
    storage.cutNextGet = 1000;
    const path = await downloadToFile(
      {
        api,
        store: new DownloadStateStore(join(dir, 'dl-state-2'), nodeStateFiles),
        sink: nodeDownloadSink,
        storage: nodeObjectStorage,
        log: () => undefined,
      },
      pointer,
      envelope,
      out,
      'report.bin',
    );
    expect(sha(await readFile(path))).toBe(sha(data));

    const stored = storage.objects.get(pointer.objectId) as Buffer;
    const original = Buffer.from(stored);
    stored[stored.length - 100] = (stored[stored.length - 100] as number) ^ 1;
    try {
      const bad = join(dir, 'inbox-3');
      await expect(
        downloadToFile(
          {
            api,
            store: new DownloadStateStore(join(dir, 'dl-state-3'), nodeStateFiles),
            sink: nodeDownloadSink,
            storage: nodeObjectStorage,
            log: () => undefined,
          },
          pointer,
          await openEnvelope(pointer, groupCipher.decrypt),
          bad,
          'report.bin',
        ),
      ).rejects.toMatchObject({ code: 'INTEGRITY' });
      expect(await readdir(bad)).toEqual([]);
    } finally {
      original.copy(stored);
    }
  });

  it('resumes an interrupted download from its checkpoint, fetching only the missing ranges', async () => {
    const out = join(dir, 'inbox-4');
    const store = new DownloadStateStore(join(dir, 'dl-state-4'), nodeStateFiles);
    const ctx = { api, store, sink: nodeDownloadSink, storage: nodeObjectStorage, log: () => undefined };
    const opts = { concurrency: 1, rangeSize: 1024 * 1024 };
    const stop = new AbortController();
    storage.ranges = [];
    storage.onRange = () => {
      if (storage.ranges.length === 12) stop.abort(new Error('interrupted'));
    };
    try {
      await expect(
        downloadToFile(ctx, pointer, await openEnvelope(pointer, groupCipher.decrypt), out, 'report.bin', {
          ...opts,
          signal: stop.signal,
        }),
      ).rejects.toThrow();
    } finally {
      storage.onRange = undefined;
    }
    // Verified plaintext so far sits in the download's private folder; nothing has the final name yet.
    expect(await readdir(out)).toEqual([expect.stringMatching(/^\.conduit-partial-/)]);
    expect(await store.load(pointer.id)).toBeDefined();
    const envelope = await openEnvelope(pointer, groupCipher.decrypt);
    const perRange = Math.round(MiB / (envelope.segmentSize + 16));
    const total = Math.ceil(Math.ceil(envelope.paddedLength / envelope.segmentSize) / perRange);
    storage.ranges = [];
    const path = await downloadToFile(
      ctx,
      pointer,
      await openEnvelope(pointer, groupCipher.decrypt),
      out,
      'report.bin',
      opts,
    );
    expect(sha(await readFile(path))).toBe(sha(data));
    // The header, then only the ranges not finished before the interruption (11 were served).
    expect(storage.ranges.length - 1).toBeLessThanOrEqual(total - 9);
    expect(storage.ranges.length - 1).toBeGreaterThanOrEqual(total - 11);
    expect(await readdir(out)).toEqual(['report.bin']);
    expect(await store.load(pointer.id)).toBeUndefined();
  });

  it('refuses a symbolic link under the final name: its target untouched, no plaintext left behind', async () => {
    const out = join(dir, 'inbox-5');
    const store = new DownloadStateStore(join(dir, 'dl-state-5'), nodeStateFiles);
    const victim = join(dir, 'victim-5.txt');
    await writeFile(victim, 'not yours');
    await mkdir(out, { recursive: true });
    await symlink(victim, join(out, 'report.bin'));
    await expect(
      downloadToFile(
        { api, store, sink: nodeDownloadSink, storage: nodeObjectStorage, log: () => undefined },
        pointer,
        await openEnvelope(pointer, groupCipher.decrypt),
        out,
        'report.bin',
      ),
    ).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(await readFile(victim, 'utf8')).toBe('not yours');
    expect(await readdir(out)).toEqual(['report.bin']);
    expect(await store.load(pointer.id)).toBeUndefined();
  });

  it('readPlainRange fetches only the covering segments', async () => {
    const envelope = await openEnvelope(pointer, groupCipher.decrypt);
    storage.ranges = [];
    const start = 5 * 256 * 1024 + 10;
    const part = await readPlainRange(api, nodeObjectStorage, pointer, envelope, start, start + 1000);
    expect(part.equals(data.subarray(start, start + 1000))).toBe(true);
    const seg = 256 * 1024 + 16;
    expect(storage.ranges).toEqual(['0-41', `${42 + 5 * seg}-${42 + 6 * seg - 1}`]);
  });

  it('rejects an envelope that names another object', async () => {
    await expect(openEnvelope({ ...pointer, objectId: hex() }, groupCipher.decrypt)).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
    await expect(openEnvelope({ ...pointer, size: pointer.size + 16 }, groupCipher.decrypt)).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
  });
});
