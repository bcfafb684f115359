import { execFile, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { ConduitError } from '@conduit/shared';
import { parseClusterUrl } from '@conduit/server';
import { freePort, isPortFree } from '../net.js';
import { stopChild } from '../s3/index.js';
import type { LocalRedis } from './index.js';
import { probeClient, RedisStartError, startRedisServer } from './server.js';

export interface ClusterNode {
  host: string;
  port: number;
}

const CLUSTER_SCHEME = 'redis+cluster://';
/** Redis listens for its cluster bus on the client port + 10000, so a node's port must leave room. */
const BUS_PORT_OFFSET = 10_000;
const MASTERS = 3;

/**
 * The seed nodes of a `redis+cluster://` URL (the server's own reading of REDIS_URL); null for any
 * other URL. The devstack's clusters have no password and no TLS, so a cluster URL with either is
 * refused rather than ignored.
 */
export function clusterSeeds(url: string): ClusterNode[] | null {
  let parsed: ReturnType<typeof parseClusterUrl>;
  try {
    parsed = parseClusterUrl(url);
  } catch (err) {
    throw new ConduitError('CONFIG', `Invalid Redis Cluster URL ${url}: ${(err as Error).message}.`);
  }
  if (!parsed) return null;
  if (parsed.tls || parsed.password !== undefined || parsed.username !== undefined) {
    throw new ConduitError('CONFIG', `The local stack connects to clusters without TLS or password only (${url}).`);
  }
  return parsed.nodes;
}

export function clusterUrl(nodes: readonly ClusterNode[]): string {
  return CLUSTER_SCHEME + nodes.map((n) => `${n.host}:${n.port}`).join(',');
}

/** True when the seed nodes answer as a cluster whose slots are all served (cluster_state:ok). */
export async function clusterAnswers(nodes: readonly ClusterNode[], timeoutMs = 3_000): Promise<boolean> {
  const cluster = new Cluster([...nodes], {
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    enableOfflineQueue: false,
    redisOptions: { connectTimeout: 1_000, maxRetriesPerRequest: 0 },
  });
  cluster.on('error', () => {}); // surfaced by connect() instead
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const ping = (async () => {
    await cluster.connect();
    return (await cluster.ping()) === 'PONG';
  })().catch(() => false);
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
    cluster.disconnect();
  }
}

/**
 * Starts a fresh cluster of three masters (no replicas): `redis-server` processes on free ports (or
 * basePort, +1, +2) with AOF in `<dataDir>/<port>`, joined with `redis-cli --cluster create`.
 * Resolves once every node says cluster_state:ok; `close` stops all three.
 */
export async function startRedisCluster(opts: { dataDir: string; basePort?: number }): Promise<LocalRedis> {
  const ports = opts.basePort === undefined ? await clusterPorts() : fixedPorts(opts.basePort);
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  const url = clusterUrl(nodes);
  await removeNodeDirs(opts.dataDir);
  const children: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(children.map((child) => stopChild(child)));
  };
  try {
    for (const port of ports) {
      const dir = join(opts.dataDir, String(port));
      await mkdir(dir, { recursive: true });
      const extraArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)];
      extraArgs.push('--cluster-node-timeout', '5000');
      children.push(await startRedisServer({ port, dir, extraArgs, wanted: url }));
    }
    await redisCli(['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`)], url);
    await waitUntilClusterOk(nodes, 20_000);
  } catch (err) {
    await close();
    throw err;
  }
  return { url, started: true, close };
}

function fixedPorts(base: number): number[] {
  const last = base + MASTERS - 1;
  if (!Number.isInteger(base) || base < 1024 || last + BUS_PORT_OFFSET > 65_535) {
    throw new ConduitError(
      'CONFIG',
      `Invalid Redis Cluster base port ${base}: expected 1024-${65_535 - BUS_PORT_OFFSET - MASTERS + 1}.`,
    );
  }
  return Array.from({ length: MASTERS }, (_, i) => base + i);
}

/** Three ports free now whose cluster bus ports (+10000) exist and are free too. */
async function clusterPorts(): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < MASTERS && attempt < 50; attempt++) {
    const port = await freePort();
    if (ports.includes(port) || port + BUS_PORT_OFFSET > 65_535) continue;
    if (await isPortFree(port + BUS_PORT_OFFSET)) ports.push(port);
  }
  if (ports.length < MASTERS) throw new RedisStartError('found no free ports for a Redis Cluster (and its bus ports)');
  return ports;
}

/** A fresh cluster: earlier nodes' folders (named by port) would hold a stale cluster config. */
async function removeNodeDirs(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  for (const entry of await readdir(dataDir)) {
    if (/^\d+$/.test(entry)) await rm(join(dataDir, entry), { recursive: true, force: true });
  }
}

function redisCli(args: string[], url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // --cluster-yes answers the "accept this slot layout?" prompt; replicas 0: three masters only.
    const all = [...args, '--cluster-replicas', '0', '--cluster-yes'];
    execFile('redis-cli', all, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      reject(
        new RedisStartError(
          code === 'ENOENT'
            ? 'redis-cli is not installed (it comes with redis-server, e.g. apt-get install redis-tools)'
            : `redis-cli ${all.join(' ')} failed for ${url}: ${(stderr || stdout).trim().split('\n').slice(-3).join(' | ')}`,
          { cause: err },
        ),
      );
    });
  });
}

async function waitUntilClusterOk(nodes: readonly ClusterNode[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const node of nodes) {
    let state = 'no answer';
    while ((state = await clusterState(node)) !== 'ok') {
      if (Date.now() > deadline) {
        throw new RedisStartError(
          `Redis Cluster node ${node.host}:${node.port} reports cluster_state:${state} after ${timeoutMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The node's cluster_state (ok, fail), or why it gave none. */
async function clusterState(node: ClusterNode): Promise<string> {
  const client = probeClient(`redis://${node.host}:${node.port}`);
  try {
    await client.connect();
    const info = (await client.cluster('INFO')) as string;
    return /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'missing';
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  } finally {
    client.disconnect();
  }
}
