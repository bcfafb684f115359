import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSyncCredentials,
  createVirgilApp,
  startS3,
  startSyncEmulator,
  startVirgilDirectory,
  type LocalS3,
  type SyncEmulator,
  type VirgilDirectory,
} from '@conduit/devstack';
import { freePort, MAIN, Proc, RedisProcess, serverEnv, startProc } from '../durability/harness.js';
import { runCli } from '../e2e/support/cli.js';
import { caddyInstalled, httpsGet, startCaddy, type RunningCaddy } from './support/caddy.js';

// docker-compose.yml's topology as processes (container images cannot be pulled here): Caddy with
// the repository's Caddyfile terminates TLS from its local CA in front of two API processes, one
// worker with its ops port, one Redis (AOF, noeviction), all in production mode, with the devstack
// stand-ins for S3, Sync and Virgil. One CLI send and receive goes through the proxy over TLS.
// Without caddy or redis-server the test is skipped, except under CI (.ci/run installs both).
const tools = caddyInstalled();
const run = promisify(execFile);

let dir: string;
let redis: RedisProcess;
let s3: LocalS3;
let sync: SyncEmulator;
let virgil: VirgilDirectory;
let caddy: RunningCaddy;
const procs: Proc[] = [];
const apiUrls: string[] = [];
let env: NodeJS.ProcessEnv;
const metricsToken = randomBytes(24).toString('base64url');

/** Requests each API process answered on /v1 routes (its own /metrics; health probes excluded). */
async function v1Requests(apiUrl: string): Promise<number> {
  const res = await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter((l) => l.startsWith('conduit_http_request_duration_seconds_count{') && l.includes('route="/v1'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe.skipIf(!tools && process.env.CI !== 'true')('compose topology as processes', () => {
  beforeAll(async () => {
    if (!tools) throw new Error('caddy is not installed: .ci/run installs it (apt-get install caddy)');
    dir = await mkdtemp(join(tmpdir(), 'conduit-topology-'));
    redis = new RedisProcess(await freePort(), join(dir, 'redis'));
    await redis.start();
    s3 = await startS3({ directory: join(dir, 's3') });
    const creds = createSyncCredentials();
    sync = await startSyncEmulator({ ...creds, aclEnabled: true });
    const app = await createVirgilApp();
    virgil = await startVirgilDirectory(app);

    const apiPorts = [await freePort(), await freePort()];
    const httpsPort = await freePort();
    // The production settings docker-compose.yml gives both roles.
    env = {
      ...(await serverEnv({ redis, s3, sync, syncCredentials: creds, virgil: app })),
      CONDUIT_MODE: 'production',
      CONDUIT_PUBLIC_URL: `https://localhost:${httpsPort}`,
      CONDUIT_TRUST_PROXY: 'loopback',
      CONDUIT_REGISTRATION: 'code',
      CONDUIT_METRICS_TOKEN: metricsToken,
    };
    for (const port of apiPorts) {
      const api = new Proc(process.execPath, [MAIN, 'api'], { ...env, CONDUIT_PORT: String(port) });
      procs.push(api);
      apiUrls.push(`http://127.0.0.1:${port}`);
      await startProc(`api on ${port}`, api, `http://127.0.0.1:${port}`);
    }
    const opsPort = await freePort();
    const worker = new Proc(process.execPath, [MAIN, 'worker'], { ...env, CONDUIT_OPS_PORT: String(opsPort) });
    procs.push(worker);
    await startProc('worker', worker, `http://127.0.0.1:${opsPort}`);
    caddy = await startCaddy(
      join(dir, 'caddy'),
      httpsPort,
      apiPorts.map((p) => `127.0.0.1:${p}`),
    );
    expect(caddy.url).toBe(env.CONDUIT_PUBLIC_URL);
  }, 120_000);

  afterAll(async () => {
    await caddy?.stop();
    for (const p of procs) await p.stop('SIGKILL');
    await virgil?.close();
    await sync?.close();
    await s3?.close();
    await redis?.proc.stop('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the API over TLS from the local CA, with HSTS, and keeps /metrics off the public side', async () => {
    const health = await httpsGet(`${caddy.url}/healthz`, caddy.rootCert);
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await httpsGet(`${caddy.url}/metrics`, caddy.rootCert)).status).toBe(404);
    // Without the local CA's root the handshake fails: the certificate is not a public one.
    await expect(fetch(`${caddy.url}/healthz`)).rejects.toThrow();
  });

  it('carries one CLI send and receive through the proxy, served by both API processes', async () => {
    const code = async (identity: string) =>
      (await run(process.execPath, [MAIN, 'admin', 'bootstrap', identity], { env })).stdout.trim();
    const cli = (identity: string) => ({
      CONDUIT_SERVER_URL: caddy.url,
      CONDUIT_HOME: join(dir, `${identity}-home`),
      CONDUIT_IDENTITY: identity,
      CONDUIT_PASSWORD: `${identity} correct horse battery`,
      CONDUIT_VIRGIL_API_URL: virgil.url,
      CONDUIT_VIRGIL_SERVICE_KEY: virgil.servicePublicKey,
      CONDUIT_TWILSOCK_URI: sync.twilsockUri,
      NODE_EXTRA_CA_CERTS: caddy.rootCertPath,
    });
    const before = await Promise.all(apiUrls.map(v1Requests));
    for (const who of ['bob', 'alice']) {
      const r = await runCli(['register', '--code', await code(who)], cli(who));
      expect(r.code, r.stderr).toBe(0);
    }
    const created = await runCli(['--json', 'group', 'create', 'bob'], cli('alice'));
    expect(created.code, created.stderr).toBe(0);
    const { groupId } = JSON.parse(created.stdout) as { groupId: string };

    const plaintext = randomBytes(200_000);
    const source = join(dir, 'report.bin');
    await writeFile(source, plaintext);
    const sent = await runCli(['--json', 'send', groupId, source], cli('alice'));
    expect(sent.code, sent.stderr).toBe(0);
    const { pointerId } = JSON.parse(sent.stdout) as { pointerId: string };

    const inbox = join(dir, 'inbox');
    const received = await runCli(
      ['--json', 'receive', groupId, '--out', inbox, '--mkdir', '--once', '--timeout', '60'],
      cli('bob'),
      { timeoutMs: 90_000 },
    );
    expect(received.code, received.stderr).toBe(0);
    expect(received.stdout).toContain(pointerId);
    expect((await readFile(join(inbox, 'report.bin'))).equals(plaintext)).toBe(true);

    // Round robin: both API processes answered the clients' /v1 requests.
    const after = await Promise.all(apiUrls.map(v1Requests));
    const served = after.map((n, i) => n - before[i]!);
    expect(
      served.every((n) => n > 0),
      `requests served: ${served.join(', ')}`,
    ).toBe(true);
  }, 180_000);
});
