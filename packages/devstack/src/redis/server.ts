import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

/** A start of redis-server, redis-cli or a cluster that failed; the message says which and why. */
export class RedisStartError extends Error {
  override readonly name = 'RedisStartError';
}

/**
 * Starts `redis-server` from PATH on 127.0.0.1:`port` with AOF in `dir` (plus `extraArgs`) and
 * resolves once it answers PING. `wanted` names what the caller looked for, for the not-installed hint.
 */
export async function startRedisServer(opts: {
  port: number;
  dir: string;
  extraArgs?: string[];
  wanted: string;
}): Promise<ChildProcess> {
  const args = ['--bind', '127.0.0.1', '--port', String(opts.port), '--dir', opts.dir];
  // AOF fsynced every second: acks survive a crash of Redis itself, bar the last second (see docs/delivery.md).
  args.push('--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction');
  const child = spawn('redis-server', [...args, ...(opts.extraArgs ?? [])], { stdio: 'ignore' });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new RedisStartError(
              `No Redis answers at ${opts.wanted} and redis-server is not installed. ` +
                'Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.',
            )
          : err,
      ),
    ),
  );
  await Promise.race([waitUntilAnswers(`redis://127.0.0.1:${opts.port}`, 10_000, child), spawnError]);
  return child;
}

/** A client that fails at once instead of retrying: a refused connection is an answer for a probe. */
export function probeClient(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // surfaced by connect() or the command instead
  return client;
}

export async function answers(url: string): Promise<boolean> {
  const client = probeClient(url);
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
    if (child.exitCode !== null) throw new RedisStartError(`redis-server exited with code ${child.exitCode}`);
    if (await answers(url)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new RedisStartError(`redis-server did not answer at ${url} within ${timeoutMs} ms`);
}
