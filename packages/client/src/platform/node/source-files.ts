import { open, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { SourceFiles } from '../source-files.js';

/** The file being sent, read through node:fs (a FileHandle is a SourceFile). */
export const nodeSourceFiles: SourceFiles = {
  resolve: (path) => resolve(path),
  baseName: (path) => basename(path),
  async stat(path) {
    const info = await stat(path);
    return { size: info.size, mtimeMs: info.mtimeMs, isFile: info.isFile() };
  },
  open: (path) => open(path, 'r'),
};
