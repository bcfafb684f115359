import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import type { ConduitClientOptions } from '../conduit-client.js';

/** Global options of every command; each falls back to its CONDUIT_* environment variable. */
export interface GlobalOptions {
  home?: string;
  server?: string;
  as?: string;
  json?: boolean;
  verbose?: boolean;
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
} as const;

export function homeDir(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return opts.home ?? env[ENV.home] ?? join(homedir(), '.conduit');
}

export function clientOptions(
  opts: GlobalOptions,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): ConduitClientOptions {
  const serverUrl = opts.server ?? env[ENV.server];
  if (!serverUrl) {
    throw new ConduitError('CONFIG', `No server: pass --server <url> or set ${ENV.server}.`);
  }
  const identity = opts.as ?? env[ENV.identity];
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
