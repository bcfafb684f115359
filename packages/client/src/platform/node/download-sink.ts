import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { DownloadSink } from '../download-sink.js';
import { createPartial, discardPartial, publishPartial, reopenPartial } from './partial-folder.js';

/** Downloads into private `.conduit-partial-*` folders of the output folder (partial-folder.ts). */
export const nodeDownloadSink: DownloadSink = {
  prepare: async (outDir) => {
    await mkdir(outDir, { recursive: true });
  },
  create: createPartial,
  reopen: reopenPartial,
  belongsTo: (folder, outDir) => dirname(folder) === outDir,
  publish: publishPartial,
  nameOf: (path) => basename(path),
  discard: discardPartial,
};
