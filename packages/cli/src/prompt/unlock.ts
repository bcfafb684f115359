import { ConduitError } from '@conduit/shared';
import type { ConduitClient } from '@conduit/client';
import { ENV } from '../settings/config.js';
import { readPassword } from './password.js';

const ATTEMPTS = 3;

/**
 * Unlocks the key store before a long-running command prints anything, so the prompt is the
 * first thing on the terminal and its result is said: on a terminal a wrong password is asked
 * again (up to 3 times) and an accepted one confirmed, so nobody types it again into an echoing
 * terminal. CONDUIT_PASSWORD is used silently.
 */
export async function unlockFirst(client: ConduitClient): Promise<void> {
  const fromEnv = process.env[ENV.password];
  if (fromEnv) return client.unlock(fromEnv);
  for (let attempt = 1; ; attempt++) {
    const password = await readPassword({ confirm: false });
    try {
      await client.unlock(password);
      process.stderr.write('password accepted\n');
      return;
    } catch (err) {
      if (!(err instanceof ConduitError && err.code === 'INVALID_CREDENTIALS') || attempt >= ATTEMPTS) throw err;
      process.stderr.write(`wrong password (attempt ${attempt} of ${ATTEMPTS}); try again\n`);
    }
  }
}
