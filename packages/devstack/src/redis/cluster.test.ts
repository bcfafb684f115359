/** A real three-master Redis Cluster from redis-server on PATH: what the server's cluster mode runs on. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitError } from '@conduit/shared';
import { freePort } from '../net.js';
import { clusterUrl, clusterSeeds, startRedisCluster, type ClusterNode } from './cluster.js';
import { DEFAULT_REDIS_URL, ensureRedis, type LocalRedis } from './index.js';
import { answers } from './server.js';

let dir: string;
let cluster: LocalRedis;
let nodes: ClusterNode[];
const clients: (Redis | Cluster)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  cluster = await startRedisCluster({ dataDir: join(dir, 'main') });
  nodes = clusterSeeds(cluster.url)!;
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

function nodeClient(node: ClusterNode): Redis {
  const client = new Redis(node.port, node.host);
  clients.push(client);
  return client;
}

/** The port of the node serving each slot, from CLUSTER NODES (`<id> <ip:port@bus> ... <from>-<to>`). */
async function slotOwners(): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  const text = (await nodeClient(nodes[0]!).cluster('NODES')) as string;
  for (const line of text.trim().split('\n')) {
    const fields = line.split(' ');
    const port = Number(/:(\d+)@/.exec(fields[1]!)![1]);
    for (const range of fields.slice(8)) {
      const [from, to = from] = range.split('-').map(Number) as [number, number?];
      for (let slot = from; slot <= to; slot++) owners.set(slot, port);
    }
  }
  return owners;
}

describe('clusterSeeds', () => {
  it('reads the seed nodes of a redis+cluster:// URL and leaves other URLs alone', () => {
    expect(clusterSeeds('redis+cluster://127.0.0.1:7000,localhost:7001')).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: 'localhost', port: 7001 },
    ]);
    expect(clusterSeeds(DEFAULT_REDIS_URL)).toBeNull();
    expect(clusterUrl([{ host: 'h', port: 1 }])).toBe('redis+cluster://h:1');
  });

  it('refuses a malformed, password or TLS cluster URL as a configuration error', () => {
    for (const url of ['redis+cluster://', 'redis+cluster://h', 'redis+cluster://:pw@h:1', 'rediss+cluster://h:1']) {
      expect(() => clusterSeeds(url), url).toThrow(ConduitError);
    }
  });
});

describe('startRedisCluster', () => {
  it('starts three masters that all report cluster_state:ok', async () => {
    expect(cluster.started).toBe(true);
    expect(nodes).toHaveLength(3);
    for (const node of nodes) {
      const info = (await nodeClient(node).cluster('INFO')) as string;
      expect(info).toMatch(/^cluster_state:ok\r?$/m);
      expect(info).toMatch(/^cluster_known_nodes:3\r?$/m);
      expect(info).toMatch(/^cluster_slots_assigned:16384\r?$/m);
    }
  });

  it('spreads keys with different hash tags over the nodes, and stores each on its owner', async () => {
    const owners = await slotOwners();
    const byPort = new Map<number, string>();
    for (let i = 0; byPort.size < 3 && i < 1000; i++) {
      const key = `{user:${i}}:inbox`;
      const slot = (await nodeClient(nodes[0]!).cluster('KEYSLOT', key)) as number;
      if (!byPort.has(owners.get(slot)!)) byPort.set(owners.get(slot)!, key);
    }
    expect([...byPort.keys()].sort()).toEqual(nodes.map((n) => n.port).sort());

    const client = new Cluster(nodes);
    clients.push(client);
    for (const [port, key] of byPort) {
      await client.set(key, 'x');
      for (const node of nodes) {
        const local = nodeClient(node);
        // A node answers only for its own slots; the others redirect with MOVED.
        if (node.port === port) expect(await local.get(key)).toBe('x');
        else await expect(local.get(key)).rejects.toThrow(/^MOVED /);
      }
    }
  });

  it('refuses a script or transaction over keys in different slots (CROSSSLOT)', async () => {
    const local = nodeClient(nodes[0]!);
    await expect(local.eval('return 1', 2, '{a}k', '{b}k')).rejects.toThrow(/^CROSSSLOT /);
    // The node refuses the queued command, so EXEC aborts the transaction.
    await expect(local.multi().mset('{a}k', '1', '{b}k', '2').exec()).rejects.toMatchObject({
      message: expect.stringMatching(/^EXECABORT /) as unknown,
      previousErrors: [expect.objectContaining({ message: expect.stringMatching(/^CROSSSLOT /) as unknown })],
    });
  });
});

describe('ensureRedis with a cluster', () => {
  it('reuses the cluster answering at a redis+cluster:// URL', async () => {
    for (const wanted of [undefined, true]) {
      const redis = await ensureRedis({ url: cluster.url, dataDir: join(dir, 'unused'), cluster: wanted });
      expect(redis).toMatchObject({ url: cluster.url, started: false });
      await redis.close();
    }
    expect(await Promise.all(nodes.map((n) => answers(`redis://${n.host}:${n.port}`)))).toEqual([true, true, true]);
  });

  it('refuses a cluster URL that does not answer unless asked to start one', async () => {
    const url = `redis+cluster://127.0.0.1:${await freePort()}`;
    await expect(ensureRedis({ url, dataDir: join(dir, 'none'), cluster: false })).rejects.toThrow(
      /No Redis Cluster answers at redis\+cluster:\/\/127\.0\.0\.1:\d+\. Start it, or set CONDUIT_STACK_REDIS_CLUSTER=1/,
    );
  });

  it('starts a fresh cluster when asked for one (the stack with redisCluster)', async () => {
    const redis = await ensureRedis({ url: DEFAULT_REDIS_URL, dataDir: join(dir, 'stack'), cluster: true });
    try {
      expect(redis.started).toBe(true);
      expect(redis.url).not.toBe(cluster.url);
      expect(clusterSeeds(redis.url)).toHaveLength(3);
    } finally {
      await redis.close();
    }
  });
});

describe('close', () => {
  it('stops all three nodes', async () => {
    // The other tests' clients would otherwise try to reconnect to the stopped nodes.
    for (const client of clients.splice(0)) client.disconnect();
    await cluster.close();
    expect(await Promise.all(nodes.map((n) => answers(`redis://${n.host}:${n.port}`)))).toEqual([false, false, false]);
  });
});
