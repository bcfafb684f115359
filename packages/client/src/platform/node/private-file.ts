import { chmod, open } from 'node:fs/promises';

/**
 * Creates `path` empty and owner-only (0600) if it is absent, and makes it and its `companions`
 * owner-only if they exist. For files a library opens with the process umask (SQLite creates its
 * database that way, and gives its -wal and -shm files the database's mode); the chmod also repairs
 * files made by versions that did not do this.
 */
export async function makePrivateFile(path: string, companions: readonly string[] = []): Promise<void> {
  await (await open(path, 'a', 0o600)).close();
  for (const file of [path, ...companions]) {
    await chmod(file, 0o600).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
