/* global setTimeout, clearTimeout, Buffer, process, fetch, AbortSignal, URL */
// Shared helpers for bench modules: timing, and the local stack as separate processes (the Sync
// emulator, the Conduit API and the purge worker each on their own event loop, the load generator
// in the bench process), so a bench measures the system rather than one overloaded event loop.
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { generateOpaqueSetup } from '@conduit/server';

// Dev accounts log in with OPAQUE: the API needs a server setup (one per bench process is enough).
const OPAQUE_SETUP = await generateOpaqueSetup();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const hex = () => randomBytes(16).toString('hex');

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

export function basicAuth(user, pass) {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every child process there (see README). */
function profArgs(name) {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : [];
}

// user + system CPU ticks of a process (Linux /proc; clock ticks are 1/100 s on Linux).
async function cpuTicks(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}
const NO_TICKS = { user: NaN, system: NaN };

/** Measures the CPU share (1 = one full core) each named process used between start() and stop(). */
export function cpuMeter(procs) {
  let before;
  let startedAt;
  return {
    async start() {
      startedAt = Date.now();
      before = await Promise.all(procs.map((p) => (p.pid === process.pid ? NO_TICKS : cpuTicks(p.pid))));
      this.self = process.cpuUsage();
    },
    async stop() {
      const seconds = (Date.now() - startedAt) / 1000;
      const after = await Promise.all(
        procs.map((p) => (p.pid === process.pid ? NO_TICKS : cpuTicks(p.pid).catch(() => NO_TICKS))),
      );
      const self = process.cpuUsage(this.self);
      return procs.map((p, i) => {
        if (p.pid === process.pid) {
          return {
            name: p.name,
            share: (self.user + self.system) / 1e6 / seconds,
            system: self.system / 1e6 / seconds,
          };
        }
        const user = (after[i].user - before[i].user) / 100;
        const system = (after[i].system - before[i].system) / 100;
        return { name: p.name, share: (user + system) / seconds, system: system / seconds };
      });
    },
  };
}

/** A child of this process whose command line contains `marker` (e.g. the s3rver child of startS3). */
export async function childProcess(name, marker) {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const [stat, cmdline] = await Promise.all([
      readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''),
      readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''),
    ]);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === process.pid && cmdline.includes(marker)) return { name, pid: Number(entry) };
  }
  throw new Error(`no child process matching ${marker}`);
}

/** "api 62% (sys 20%)": kernel time shown apart, it is what syscalls (socket writes) cost. */
export const formatCpu = (shares) =>
  shares.map((s) => `${s.name} ${(s.share * 100).toFixed(0)}% (sys ${(s.system * 100).toFixed(0)}%)`).join(', ');

/**
 * A dedicated redis-server (not whatever answers on 6379, which other work may share), configured
 * as the local stack runs it: AOF on, fsynced every second.
 */
export async function startRedis(dir) {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    // prettier-ignore
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'yes',
      '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    const ok = await client
      .connect()
      .then(() => client.ping())
      .then((r) => r === 'PONG')
      .catch(() => false)
      .finally(() => client.disconnect());
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start');
    await sleep(50);
  }
  return { url, name: 'redis', pid: child.pid, close: () => stopChild(child) };
}

/** The Sync emulator in its own process; credentials come back over IPC. */
export async function startSyncProcess() {
  const entry = fileURLToPath(new URL('../packages/devstack/dist/sync/sync-process.js', import.meta.url));
  const child = fork(entry, ['127.0.0.1', '0', 'acl'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: profArgs('sync'),
  });
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Sync emulator did not start in 15 s')), 15_000);
    child.once('message', (msg) => {
      clearTimeout(timer);
      resolve(msg);
    });
    child.once('exit', (code) => reject(new Error(`the Sync emulator exited (code ${code})`)));
  });
  return {
    ...info,
    name: 'sync emulator',
    pid: child.pid,
    /** Per-object write limit in the emulator (Twilio's 429 / 54009); null = off. */
    setRateLimit: (rateLimit) =>
      new Promise((resolve) => {
        child.once('message', () => resolve());
        child.send({ rateLimit });
      }),
    close: () => stopChild(child),
  };
}

/**
 * `conduit-server api|worker` from the built dist, configured through its environment as in
 * production; resolves once its /healthz answers (`healthUrl`).
 */
export async function startConduit(role, env, healthUrl) {
  const main = fileURLToPath(new URL('../packages/server/dist/main.js', import.meta.url));
  let stderr = '';
  const child = spawn(process.execPath, [...profArgs(role), main, role], {
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`conduit ${role} exited: ${stderr}`);
    const ok = await fetch(`${healthUrl}/healthz`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`conduit ${role} did not answer /healthz in 20 s: ${stderr}`);
    }
    await sleep(100);
  }
  return { name: role, pid: child.pid, stderr: () => stderr, close: () => stopChild(child) };
}

/** SIGTERM (graceful shutdown, which also flushes a CPU profile), SIGKILL after `graceMs`. */
function stopChild(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Environment for `conduit-server` against the given Redis, Sync emulator and S3. */
export function conduitEnv({ redisUrl, sync, s3, virgil, port, opsPort, extra = {} }) {
  const c = sync.credentials;
  return {
    CONDUIT_AUTH_MODE: 'dev',
    CONDUIT_SESSION_SECRET: randomBytes(32).toString('base64url'),
    CONDUIT_OPAQUE_SERVER_SETUP: OPAQUE_SETUP,
    CONDUIT_HOST: '127.0.0.1',
    CONDUIT_PORT: String(port),
    CONDUIT_OPS_PORT: String(opsPort),
    // CONDUIT_LOG_LEVEL stays at its production default (info: one line per request), to /dev/null.
    REDIS_URL: redisUrl,
    VIRGIL_APP_ID: virgil.appId,
    VIRGIL_APP_KEY_ID: virgil.appKeyId,
    VIRGIL_APP_KEY: virgil.appPrivateKey,
    TWILIO_ACCOUNT_SID: c.accountSid,
    TWILIO_API_KEY: c.apiKeySid,
    TWILIO_API_SECRET: c.apiKeySecret,
    TWILIO_SYNC_SERVICE_SID: c.serviceSid,
    TWILIO_SYNC_REST_URL: sync.restUrl,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    // Benches measure throughput, not the limits: the limiters still count every request, with
    // budgets no bench reaches (one identity sends thousands of pointers a second here).
    CONDUIT_RATE_LIMIT_PER_IDENTITY: '100000000',
    CONDUIT_RATE_LIMIT_PER_ADDRESS: '100000000',
    CONDUIT_RATE_LIMIT_ANONYMOUS_PER_ADDRESS: '100000000',
    CONDUIT_QUOTA_PENDING_POINTERS: '100000000',
    ...extra,
  };
}
