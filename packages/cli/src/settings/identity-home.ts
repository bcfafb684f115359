import { join } from 'node:path';
import { ConduitError, Identity } from '@conduit/shared';
import { ENV, homeDir, settingsEnv } from './config.js';
import type { GlobalOptions } from './config.js';

/** The identity's local folder (`<home>/<identity>`) for commands that need no server. */
export function identityHome(
  g: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
): { identity: string; dir: string } {
  const identity = g.as ?? settingsEnv(g, env)[ENV.identity];
  if (!identity) throw new ConduitError('CONFIG', `No identity: pass --as <identity> or set ${ENV.identity}.`);
  if (!Identity.safeParse(identity).success) {
    throw new ConduitError('VALIDATION_FAILED', 'Invalid identity: use letters, digits and . _ @ + - only.');
  }
  return { identity, dir: join(homeDir(g, env), identity) };
}
