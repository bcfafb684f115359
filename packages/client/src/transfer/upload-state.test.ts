import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupId, ObjectId, PointerId, UploadId } from '@conduit/shared';
import { nodeSha256 } from '../platform/node/sha256.js';
import { nodeStateFiles } from '../platform/node/state-files.js';
import type { StateFiles } from '../platform/state-files.js';
import { UploadStateStore } from './upload-state.js';
import type { UploadParams } from './upload-state.js';

const params: UploadParams = {
  v: 1,
  groupId: 'a'.repeat(32) as GroupId,
  path: '/data/file.bin',
  size: 3 * 1024 * 1024,
  mtimeMs: 1,
  name: 'file.bin',
  type: 'application/octet-stream',
  uploadId: 'b'.repeat(32) as UploadId,
  objectId: 'c'.repeat(32) as ObjectId,
  pointerId: 'd'.repeat(32) as PointerId,
  segmentSize: 1024 * 1024,
  paddedLength: 3 * 1024 * 1024,
  partPlainBytes: 8 * 1024 * 1024,
  header: Buffer.alloc(42).toString('base64'),
  sealedKey: 'sealed',
};

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('UploadLog', () => {
  it('appends every line through one handle until closed, and a later append opens another', async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-upload-state-'));
    let opened = 0;
    // The real node:fs state files, counting how often a handle is opened.
    const files: StateFiles = {
      ...nodeStateFiles,
      openAppender: (path) => {
        opened++;
        return nodeStateFiles.openAppender(path);
      },
    };
    const store = new UploadStateStore(dir, files, nodeSha256);
    const path = store.pathFor(params.groupId, params.path);
    const log = await store.create(path, params);
    const digest = (i: number) => String(i).repeat(64).slice(0, 64);
    await Promise.all([0, 1, 2].map((i) => log.segment(i, digest(i))));
    await log.done(1, '"etag-1"');
    expect(opened).toBe(1);
    await log.close();
    await log.completed();
    await log.close();
    expect(opened).toBe(2);

    const loaded = await store.load(path);
    expect(loaded?.params).toEqual(params);
    expect([...(loaded?.segments ?? [])]).toEqual([0, 1, 2].map((i) => [i, digest(i)]));
    expect([...(loaded?.parts ?? [])]).toEqual([[1, '"etag-1"']]);
    expect(loaded?.completed).toBe(true);
  });
});
