import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import type { ConduitClientOptions } from '@conduit/client';
import { ENV } from './env.js';
import type { OidcSettings } from '../oidc/issuer.js';
import { runningLocalStackEnv } from './local-stack-settings.js';
import { activeProfile } from './profiles.js';

/** Global options of every command; each falls back to its CONDUIT_* environment variable. */
export interface GlobalOptions {
  home?: string;
  server?: string;
  as?: string;
  /** The profile whose settings fill what flags and variables leave unset (profiles.ts). */
  profile?: string;
  json?: boolean;
  verbose?: boolean;
  /** No progress and no notices on stderr; results, warnings and errors still print. */
  quiet?: boolean;
}

export { ENV } from './env.js';

/**
 * The variables in effect: those set in the environment, over the active profile's values.
 * Precedence, highest first: flags, environment, profile, then a running local stack.
 */
export function settingsEnv(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const profile = activeProfile(opts.profile, env);
  if (!profile) return env;
  return { ...profile.values, ...setOnly(env) };
}

/** The scope of a device login: an ID token, and a refresh token to renew it without the user. */
export const DEFAULT_OIDC_SCOPE = 'openid offline_access';

/**
 * The identity provider to sign in at, when CONDUIT_OIDC_ISSUER is set (directly or by a running
 * local stack in OIDC mode); undefined for password accounts.
 */
export function oidcSettings(
  opts: GlobalOptions,
  processEnv: NodeJS.ProcessEnv = process.env,
): OidcSettings | undefined {
  const env = connectionEnv(opts, processEnv);
  const issuer = env[ENV.oidcIssuer];
  if (!issuer) return undefined;
  const clientId = env[ENV.oidcClientId];
  if (!clientId) throw new ConduitError('CONFIG', `${ENV.oidcIssuer} is set: set ${ENV.oidcClientId} too.`);
  return { issuer, clientId, scope: env[ENV.oidcScope] || DEFAULT_OIDC_SCOPE };
}

export function homeDir(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return opts.home ?? settingsEnv(opts, env)[ENV.home] ?? join(homedir(), '.conduit');
}

/** `conduit stack up`'s default data folder, where a running stack publishes its settings. */
export function localStackDir(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return join(homeDir(opts, env), 'devstack');
}

/**
 * Where the connection settings come from: --server, then the CONDUIT_* variables, then the
 * active profile, then (with no server named by any of them) a local stack running on
 * `<home>/devstack`, whose values fill only the variables that are unset.
 */
function connectionEnv(opts: GlobalOptions, processEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = settingsEnv(opts, processEnv);
  if (opts.server ?? env[ENV.server]) return env;
  const stack = runningLocalStackEnv(localStackDir(opts, env));
  if (!stack) return env;
  return { ...stack, ...setOnly(env) };
}

/** The variables with a value (an empty one counts as unset). */
function setOnly(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value));
}

/** The settings in effect (flags, variables, profile, local stack): what `profile add` records. */
export function connectionSettings(
  opts: GlobalOptions,
  processEnv: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env = connectionEnv(opts, processEnv);
  const flags = { [ENV.home]: opts.home, [ENV.server]: opts.server, [ENV.identity]: opts.as };
  return { ...env, ...setOnly(flags) };
}

export function clientOptions(
  opts: GlobalOptions,
  log: (line: string) => void,
  processEnv: NodeJS.ProcessEnv = process.env,
  identityOverride?: string,
): ConduitClientOptions {
  const env = connectionEnv(opts, processEnv);
  const serverUrl = opts.server ?? env[ENV.server];
  if (!serverUrl) {
    throw new ConduitError(
      'CONFIG',
      `No server: pass --server <url>, set ${ENV.server}, or start a local stack (\`conduit stack up\`).`,
    );
  }
  const identity = identityOverride ?? opts.as ?? env[ENV.identity];
  if (!identity) {
    throw new ConduitError('CONFIG', `No identity: pass --as <identity> or set ${ENV.identity}.`);
  }
  return {
    serverUrl,
    home: homeDir(opts, env),
    identity,
    virgilApiUrl: env[ENV.virgilApiUrl] || undefined,
    virgilServicePublicKey: env[ENV.virgilServiceKey] || undefined,
    twilsockUri: env[ENV.twilsockUri] || undefined,
    log,
  };
}
