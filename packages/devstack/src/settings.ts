import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOCAL_STACK_SETTINGS_FILE, type LocalStackSettings } from '@conduit/shared';

/**
 * Publishes a running stack's client settings in its data folder, so the CLI finds the stack
 * without exported variables. Owner-only, replaced atomically; the returned function removes it.
 */
export async function publishSettings(
  dataDir: string,
  clientEnv: LocalStackSettings['clientEnv'],
): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCAL_STACK_SETTINGS_FILE);
  const settings: LocalStackSettings = { pid: process.pid, clientEnv };
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
  return () => rm(path, { force: true });
}
