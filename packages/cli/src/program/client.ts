import type { Command } from 'commander';
import { ConduitClient } from '@conduit/client';
import { refreshingIdTokens } from '../oidc/id-tokens.js';
import { clientOptions, oidcSettings, type GlobalOptions } from '../settings/config.js';
import { readPassword } from '../prompt/password.js';

/** What a device login knows before the client exists. */
export interface ProviderSignIn {
  /** The identity the provider's subject maps to (replaces --as). */
  identity: string;
  /** The ID token the login just got: the bearer of the first requests. */
  idToken: string;
}

/** Runs `fn` with a client opened from the global options, and closes it however `fn` ends. */
export async function withClient(
  cmd: Command,
  fn: (client: ConduitClient, g: GlobalOptions) => Promise<void>,
  signIn?: ProviderSignIn,
): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const oidc = oidcSettings(g);
  // The token provider runs only once the client below exists.
  const opened: { client?: ConduitClient } = {};
  const refreshing = oidc && refreshingIdTokens(oidc, () => opened.client!);
  let first = signIn?.idToken;
  const idToken =
    refreshing && (() => (first ? Promise.resolve(first) : refreshing()).finally(() => (first = undefined)));
  const client = await ConduitClient.open({
    ...clientOptions(g, g.verbose ? (l) => console.error(l) : () => undefined, process.env, signIn?.identity),
    // The private key is encrypted at rest under the password: commands that need it ask for it.
    keyPassword: () => readPassword({ confirm: false }),
    ...(idToken && { idToken }),
  });
  opened.client = client;
  try {
    await fn(client, g);
  } finally {
    await client.close();
  }
}
