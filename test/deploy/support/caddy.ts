/**
 * Caddy from the machine's packages (Debian `caddy`) running the repository's Caddyfile, the way
 * docker-compose.yml runs it, on free ports: the Caddyfile's environment placeholders pick the
 * upstreams, ports and admin address. Its state (the local CA) lives in `dataDir`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, Proc, until } from '../../durability/harness.js';

export const CADDYFILE = fileURLToPath(new URL('../../../Caddyfile', import.meta.url));

export function caddyInstalled(): boolean {
  try {
    execFileSync('caddy', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface RunningCaddy {
  proc: Proc;
  /** `https://localhost:<port>`: the site the Caddyfile serves when CONDUIT_DOMAIN is unset. */
  url: string;
  adminUrl: string;
  /** Root certificate of Caddy's local CA, for NODE_EXTRA_CA_CERTS. */
  rootCertPath: string;
  rootCert: string;
  stop(): Promise<void>;
}

/** Starts Caddy on `httpsPort` once the upstreams answer (compose: `depends_on` the API healthy). */
export async function startCaddy(dataDir: string, httpsPort: number, upstreams: string[]): Promise<RunningCaddy> {
  const [httpPort, adminPort] = [await freePort(), await freePort()];
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const proc = new Proc('caddy', ['run', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
    PATH: process.env.PATH,
    HOME: dataDir,
    XDG_DATA_HOME: join(dataDir, 'data'),
    XDG_CONFIG_HOME: join(dataDir, 'config'),
    CONDUIT_API_UPSTREAMS: `to ${upstreams.join(' ')}`,
    CADDY_ADMIN: `127.0.0.1:${adminPort}`,
    CADDY_HTTP_PORT: String(httpPort),
    CADDY_HTTPS_PORT: String(httpsPort),
  });
  proc.start();
  const rootCertPath = join(dataDir, 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt');
  const url = `https://localhost:${httpsPort}`;
  const fail = (err: Error) => {
    throw new Error(`${err.message}\n${proc.stderr}`);
  };
  // The compose healthcheck's probe (the admin endpoint answers once the config is loaded), then
  // the local CA's root, then a TLS handshake with a certificate for localhost chained to it.
  await until('caddy admin', async () => ((await fetch(`${adminUrl}/config/`)).ok ? true : undefined), 15_000).catch(
    fail,
  );
  await until('the local CA', async () => (existsSync(rootCertPath) ? true : undefined), 15_000).catch(fail);
  const rootCert = await readFile(rootCertPath, 'utf8');
  await until(
    'TLS',
    async () => ((await httpsGet(`${url}/healthz`, rootCert)).status > 0 ? true : undefined),
    15_000,
  ).catch(fail);
  return { proc, url, adminUrl, rootCertPath, rootCert, stop: () => proc.stop('SIGTERM') };
}

/** GET over TLS trusting only `ca`; status and headers of the answer. */
export function httpsGet(url: string, ca: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
