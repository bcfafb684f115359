import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import type { ConduitClientOptions } from '@conduit/client';
import type { OidcSettings } from '../oidc/issuer.js';
import { runningLocalStackEnv } from './local-stack-settings.js';

/** Global options of every command; each falls back to its CONDUIT_* environment variable. */
export interface GlobalOptions {
  home?: string;
  server?: string;
  as?: string;
  json?: boolean;
  verbose?: boolean;
  /** No progress and no notices on stderr; results, warnings and errors still print. */
  quiet?: boolean;
}

export const ENV = {
  home: 'CONDUIT_HOME',
  server: 'CONDUIT_SERVER_URL',
  identity: 'CONDUIT_IDENTITY',
  virgilApiUrl: 'CONDUIT_VIRGIL_API_URL',
  virgilServiceKey: 'CONDUIT_VIRGIL_SERVICE_KEY',
  twilsockUri: 'CONDUIT_TWILSOCK_URI',
  password: 'CONDUIT_PASSWORD',
  debug: 'CONDUIT_DEBUG',
  oidcIssuer: 'CONDUIT_OIDC_ISSUER',
  oidcClientId: 'CONDUIT_OIDC_CLIENT_ID',
  oidcScope: 'CONDUIT_OIDC_SCOPE',
} as const;

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
  return opts.home ?? env[ENV.home] ?? join(homedir(), '.conduit');
}

/** `conduit stack up`'s default data folder, where a running stack publishes its settings. */
export function localStackDir(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return join(homeDir(opts, env), 'devstack');
}

/**
 * Where the connection settings come from: --server, then the CONDUIT_* variables, then (with
 * neither a --server nor CONDUIT_SERVER_URL) a local stack running on `<home>/devstack`, whose
 * values fill only the variables that are unset.
 */
function connectionEnv(opts: GlobalOptions, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (opts.server ?? env[ENV.server]) return env;
  const stack = runningLocalStackEnv(localStackDir(opts, env));
  if (!stack) return env;
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value));
  return { ...stack, ...set };
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
