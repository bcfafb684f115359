import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConduitError, LOCAL_STACK_SETTINGS_FILE, LocalStackSettings } from '@conduit/shared';

/**
 * The client variables of the local stack running on `dataDir` (what `conduit stack up` publishes
 * there), or undefined when none runs: no file, or one left by a stack whose process is gone.
 */
export function runningLocalStackEnv(dataDir: string): LocalStackSettings['clientEnv'] | undefined {
  const path = join(dataDir, LOCAL_STACK_SETTINGS_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: ReturnType<typeof LocalStackSettings.safeParse>;
  try {
    parsed = LocalStackSettings.safeParse(JSON.parse(text));
  } catch {
    parsed = LocalStackSettings.safeParse(undefined);
  }
  if (!parsed.success) throw new ConduitError('CONFIG', `Corrupt local stack settings: ${path}`);
  return isRunning(parsed.data.pid) ? parsed.data.clientEnv : undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
