/**
 * Real parts for the durability suite: a Redis this file starts itself (AOF, fsync always), the
 * Sync emulator, s3rver, and the Conduit API and worker as child processes so they can be killed
 * with SIGKILL. Everything listens on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createSyncCredentials,
  createVirgilApp,
  startS3,
  startSyncEmulator,
  type LocalS3,
  type SyncCredentials,
  type SyncEmulator,
  type VirgilAppCredentials,
} from '@conduit/devstack';
import { generateOpaqueSetup } from '@conduit/server';
import { syncMapOf } from '@conduit/shared';

export const MAIN = fileURLToPath(new URL('../../packages/server/dist/main.js', import.meta.url));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const hex = () => randomBytes(16).toString('hex');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls until `check` returns something other than undefined; fails with `what` after the deadline. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** A child process with its stderr kept (for failure messages) and a way to SIGKILL it. */
export class Proc {
  private child: ChildProcess | undefined;
  stderr = '';

  constructor(
    private readonly command: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  start(): void {
    const child = spawn(this.command, this.args, { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8000);
    });
    this.child = child;
  }

  /** Delivers `signal` without waiting (SIGSTOP/SIGCONT freeze and thaw a process). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** redis-server on a fixed port and data dir: AOF on, every write fsynced before the reply. */
export class RedisProcess {
  readonly proc: Proc;
  readonly url: string;

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
    this.proc = new Proc('redis-server', [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ]);
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.proc.start();
    const { Redis } = await import('ioredis');
    await until(
      'redis-server',
      async () => {
        const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        client.on('error', () => {});
        try {
          await client.connect();
          // Loading the AOF answers -LOADING; wait for a real PONG.
          return (await client.ping()) === 'PONG' ? true : undefined;
        } finally {
          client.disconnect();
        }
      },
      10_000,
    );
  }
}

export interface Parts {
  redis: RedisProcess;
  s3: LocalS3;
  sync: SyncEmulator;
  env: NodeJS.ProcessEnv;
  apiUrl: string;
  opsUrl: string;
  api: Proc;
  worker: Proc;
  rest: SyncRest;
  close(): Promise<void>;
}

/**
 * The one configuration every API and worker process of a test shares (the caller adds
 * CONDUIT_PORT / CONDUIT_OPS_PORT per process): dev auth, fast purge retries and stall recovery.
 */
export async function serverEnv(p: {
  redis: RedisProcess;
  s3: LocalS3;
  sync: SyncEmulator;
  syncCredentials: SyncCredentials;
  virgil: VirgilAppCredentials;
}): Promise<NodeJS.ProcessEnv> {
  const { redis, s3, sync, syncCredentials: creds, virgil } = p;
  return {
    PATH: process.env.PATH,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CONDUIT_AUTH_MODE: 'dev',
    CONDUIT_SESSION_SECRET: randomBytes(32).toString('base64url'),
    CONDUIT_OPAQUE_SERVER_SETUP: await generateOpaqueSetup(),
    CONDUIT_HOST: '127.0.0.1',
    CONDUIT_LOG_LEVEL: 'warn',
    // Fast retries so recovery fits the test's deadline; attempts high enough to ride out faults.
    CONDUIT_PURGE_ATTEMPTS: '40',
    CONDUIT_PURGE_BACKOFF_BASE_MS: '50',
    CONDUIT_PURGE_BACKOFF_MAX_MS: '1000',
    // A SIGKILLed worker's active jobs come back once their lock expired and a stall check ran:
    // at most 5 s + 1 s here instead of BullMQ's 30 s + 30 s defaults.
    CONDUIT_PURGE_LOCK_MS: '5000',
    CONDUIT_PURGE_STALLED_INTERVAL_MS: '1000',
    REDIS_URL: redis.url,
    VIRGIL_APP_ID: virgil.appId,
    VIRGIL_APP_KEY_ID: virgil.appKeyId,
    VIRGIL_APP_KEY: virgil.appPrivateKey,
    TWILIO_ACCOUNT_SID: creds.accountSid,
    TWILIO_API_KEY: creds.apiKeySid,
    TWILIO_API_SECRET: creds.apiKeySecret,
    TWILIO_SYNC_SERVICE_SID: creds.serviceSid,
    TWILIO_SYNC_REST_URL: sync.restUrl,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}

/** Starts Redis, s3rver, the Sync emulator, then the API and the worker as child processes. */
export async function startParts(dataDir: string): Promise<Parts> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const redis = new RedisProcess(await freePort(), `${dataDir}/redis`);
  await redis.start();
  const s3 = await startS3({ directory: `${dataDir}/s3` });
  const creds = createSyncCredentials();
  const sync = await startSyncEmulator({ ...creds, aclEnabled: true });
  const [apiPort, opsPort] = [await freePort(), await freePort()];
  const env = await serverEnv({ redis, s3, sync, syncCredentials: creds, virgil: await createVirgilApp() });
  Object.assign(env, { CONDUIT_PORT: String(apiPort), CONDUIT_OPS_PORT: String(opsPort) });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const api = new Proc(process.execPath, [MAIN, 'api'], env);
  const worker = new Proc(process.execPath, [MAIN, 'worker'], env);
  const parts: Parts = {
    redis,
    s3,
    sync,
    env,
    apiUrl,
    opsUrl,
    api,
    worker,
    rest: new SyncRest(sync.restUrl, creds),
    async close() {
      await api.stop('SIGKILL');
      await worker.stop('SIGKILL');
      await sync.close();
      await s3.close();
      await redis.proc.stop('SIGKILL');
    },
  };
  await startApi(parts);
  await startWorkerProc(parts);
  return parts;
}

export async function startApi(parts: Parts): Promise<void> {
  await startProc('the API', parts.api, parts.apiUrl);
}

export async function startWorkerProc(parts: Parts): Promise<void> {
  await startProc('the worker', parts.worker, parts.opsUrl);
}

/** Starts `proc` and waits until `${baseUrl}/healthz` answers (its stderr in the error otherwise). */
export async function startProc(what: string, proc: Proc, baseUrl: string): Promise<void> {
  proc.start();
  await until(what, async () => ((await answers(`${baseUrl}/healthz`)) ? true : undefined), 15_000).catch(
    (err: Error) => {
      throw new Error(`${err.message}\n${proc.stderr}`);
    },
  );
}

/** The Sync REST API as a sender's backend or an auditor would use it (Basic auth, form bodies). */
export class SyncRest {
  private readonly auth: string;

  constructor(
    private readonly baseUrl: string,
    private readonly creds: { accountSid: string; authToken: string; serviceSid: string },
  ) {
    this.auth = `Basic ${Buffer.from(`${creds.accountSid}:${creds.authToken}`).toString('base64')}`;
  }

  private mapUrl(groupId: string): string {
    return `${this.baseUrl}/v1/Services/${this.creds.serviceSid}/Maps/${syncMapOf(groupId)}`;
  }

  /** Keys of every item still in the group's map. */
  async itemKeys(groupId: string): Promise<string[]> {
    const res = await fetch(`${this.mapUrl(groupId)}/Items?PageSize=1000`, { headers: { authorization: this.auth } });
    if (res.status !== 200) throw new Error(`listing Sync items answered ${res.status}`);
    const page = (await res.json()) as { items: { key: string }[]; meta: { next_page_url: string | null } };
    if (page.meta.next_page_url) throw new Error('more than one page of items');
    return page.items.map((i) => i.key);
  }
}
