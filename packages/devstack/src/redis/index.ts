import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { freePort } from '../net.js';
import { stopChild } from '../s3/index.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface LocalRedis {
  url: string;
  /** True when this process started the server (and `close` stops it). */
  started: boolean;
  close(): Promise<void>;
}

/**
 * Uses the Redis answering at `url` (REDIS_URL or the default); if none answers, starts
 * `redis-server` from PATH on a free port with AOF in `dataDir`.
 */
export async function ensureRedis(opts: { url?: string; dataDir: string }): Promise<LocalRedis> {
  const url = opts.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  if (await answers(url)) return { url, started: false, close: async () => {} };

  await mkdir(opts.dataDir, { recursive: true });
  const port = await freePort();
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', opts.dataDir];
  // AOF fsynced every second: acks survive a crash of Redis itself, bar the last second (see docs/delivery.md).
  args.push('--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction');
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error(
              `No Redis answers at ${url} and redis-server is not installed. ` +
                'Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.',
            )
          : err,
      ),
    ),
  );
  const started = `redis://127.0.0.1:${port}`;
  await Promise.race([waitUntilAnswers(started, 10_000, child), spawnError]);
  return { url: started, started: true, close: () => stopChild(child) };
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // a refused connection is the answer we are asking for
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function waitUntilAnswers(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (await answers(url)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer at ${url} within ${timeoutMs} ms`);
}
