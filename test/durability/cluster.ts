/**
 * Several Conduit processes on one Redis, as a scaled-out deployment runs them: `apis` API
 * processes (`node packages/server/dist/main.js api`, each on its own port) behind one
 * round-robin address, and `workers` worker processes, all with one configuration. The stand-ins
 * are real servers: redis-server (AOF), s3rver, the Sync emulator (every REST item write it
 * answers is kept in `writes`, the witness of what Sync saw) and the Virgil directory.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import {
  createSyncCredentials,
  createVirgilApp,
  startS3,
  startSyncEmulator,
  startVirgilDirectory,
  type LocalS3,
  type RestItemWrite,
  type SyncEmulator,
  type VirgilDirectory,
} from '@conduit/devstack';
import type { ConduitClientOptions } from '@conduit/client';
import { freePort, MAIN, Proc, RedisProcess, serverEnv, startProc, SyncRest } from './harness.js';
import { RoundRobinProxy } from './round-robin-proxy.js';

export interface Member {
  name: string;
  proc: Proc;
  /** The API's own URL, or the worker's ops port (healthz, metrics). */
  url: string;
  start(): Promise<void>;
}

export interface Cluster {
  redis: RedisProcess;
  s3: LocalS3;
  sync: SyncEmulator;
  virgil: VirgilDirectory;
  proxy: RoundRobinProxy;
  apis: Member[];
  workers: Member[];
  rest: SyncRest;
  /** Every REST item write the Sync emulator answered, in order. */
  writes: RestItemWrite[];
  /** `conduit-server admin bootstrap <identity>`: the one-time code that registers a reserved (admin) name. */
  bootstrapCode(identity: string): Promise<string>;
  /** A ConduitClient's options for `identity`, reaching the API through the proxy. */
  clientOptions(home: string, identity: string): ConduitClientOptions;
  close(): Promise<void>;
}

export async function startCluster(
  dataDir: string,
  opts: { apis: number; workers: number; env?: NodeJS.ProcessEnv },
): Promise<Cluster> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const redis = new RedisProcess(await freePort(), `${dataDir}/redis`);
  await redis.start();
  const s3 = await startS3({ directory: `${dataDir}/s3` });
  const creds = createSyncCredentials();
  const writes: RestItemWrite[] = [];
  const sync = await startSyncEmulator({ ...creds, aclEnabled: true, onItemWrite: (w) => writes.push(w) });
  const app = await createVirgilApp();
  const virgil = await startVirgilDirectory(app);
  const env = { ...(await serverEnv({ redis, s3, sync, syncCredentials: creds, virgil: app })), ...opts.env };

  const member = async (role: 'api' | 'worker', index: number): Promise<Member> => {
    const port = await freePort();
    const portVar = role === 'api' ? 'CONDUIT_PORT' : 'CONDUIT_OPS_PORT';
    const proc = new Proc(process.execPath, [MAIN, role], { ...env, [portVar]: String(port) });
    const name = `${role}-${index + 1}`;
    const url = `http://127.0.0.1:${port}`;
    return { name, proc, url, start: () => startProc(name, proc, url) };
  };
  const apis = await Promise.all(Array.from({ length: opts.apis }, (_, i) => member('api', i)));
  const workers = await Promise.all(Array.from({ length: opts.workers }, (_, i) => member('worker', i)));
  for (const m of [...apis, ...workers]) await m.start();
  const proxy = await RoundRobinProxy.start(apis.map((a) => a.url));

  return {
    redis,
    s3,
    sync,
    virgil,
    proxy,
    apis,
    workers,
    writes,
    rest: new SyncRest(sync.restUrl, creds),
    async bootstrapCode(identity) {
      const { stdout } = await promisify(execFile)(process.execPath, [MAIN, 'admin', 'bootstrap', identity], { env });
      return stdout.trim();
    },
    clientOptions: (home, identity) => ({
      serverUrl: proxy.url,
      home,
      identity,
      virgilApiUrl: virgil.url,
      virgilServicePublicKey: virgil.servicePublicKey,
      twilsockUri: sync.twilsockUri,
    }),
    async close() {
      await proxy.close();
      for (const m of [...apis, ...workers]) await m.proc.stop('SIGKILL');
      await virgil.close();
      await sync.close();
      await s3.close();
      await redis.proc.stop('SIGKILL');
    },
  };
}
