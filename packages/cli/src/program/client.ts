import type { Command } from 'commander';
import { ConduitClient } from '@conduit/client';
import { clientOptions, type GlobalOptions } from '../settings/config.js';
import { readPassword } from '../prompt/password.js';

/** Runs `fn` with a client opened from the global options, and closes it however `fn` ends. */
export async function withClient(
  cmd: Command,
  fn: (client: ConduitClient, g: GlobalOptions) => Promise<void>,
): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const client = await ConduitClient.open({
    ...clientOptions(g, g.verbose ? (l) => console.error(l) : () => undefined),
    // The private key is encrypted at rest under the password: commands that need it ask for it.
    keyPassword: () => readPassword({ confirm: false }),
  });
  try {
    await fn(client, g);
  } finally {
    await client.close();
  }
}
