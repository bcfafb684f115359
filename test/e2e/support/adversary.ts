import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { deploymentKeyPatterns, openRedis, scanKeys } from './redis.js';

/**
 * A TCP proxy on loopback in front of the API that keeps every byte clients send: exactly what
 * the server receives (plain HTTP on loopback, as in the local stack).
 */
export interface RecordingProxy {
  url: string;
  received(): Buffer;
  close(): Promise<void>;
}

export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const { hostname, port } = new URL(target);
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    received: () => Buffer.concat(chunks),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every key of the deployment with its value(s), as bytes: what the server stores in Redis. */
export async function dumpRedis(url: string, prefix: string): Promise<Buffer> {
  const redis = openRedis(url);
  try {
    const parts: Buffer[] = [];
    for (const name of await scanKeys(redis, deploymentKeyPatterns(prefix))) {
      const key = Buffer.from(name);
      parts.push(key);
      const type = await redis.type(key);
      if (type === 'string') parts.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
      else if (type === 'hash') {
        for (const [field, value] of Object.entries(await redis.hgetallBuffer(key)))
          parts.push(Buffer.from(field), value);
      } else if (type === 'set') parts.push(...(await redis.smembersBuffer(key)));
      else if (type === 'list') parts.push(...(await redis.lrangeBuffer(key, 0, -1)));
      else if (type === 'zset') parts.push(...(await redis.zrangeBuffer(key, 0, -1)));
      else if (type === 'stream') parts.push(Buffer.from(JSON.stringify(await redis.xrange(key, '-', '+'))));
      else throw new Error(`unexpected Redis type ${type}`);
    }
    return Buffer.concat(parts);
  } finally {
    redis.disconnect();
  }
}

const hash = (alg: string, data: Buffer) => createHash(alg).update(data).digest();

/**
 * The password and every fast derivation of it an attacker could run a dictionary against:
 * SHA-256, SHA-512, double SHA-256, the legacy SHA-512(SHA-256) and its two halves, HKDF and
 * HMAC keyed by the password.
 */
export function fastDerivations(password: string): Record<string, Buffer> {
  const p = Buffer.from(password, 'utf8');
  const legacy = hash('sha512', hash('sha256', p));
  const hkdf = (info: string) => Buffer.from(hkdfSync('sha256', p, Buffer.alloc(0), info, 32));
  return {
    password: p,
    sha256: hash('sha256', p),
    sha512: hash('sha512', p),
    'sha256(sha256)': hash('sha256', hash('sha256', p)),
    'sha512(sha256)': legacy,
    'legacy login half': legacy.subarray(0, 32),
    'legacy backup half': legacy.subarray(32, 64),
    'hkdf-sha256': hkdf(''),
    'hkdf-sha256 backup info': hkdf('conduit key backup v1'),
    'hmac-sha256': createHmac('sha256', p).digest(),
  };
}

/** Names of the derivations found in `haystack` raw, in hex, base64 (padded or not) or base64url. */
export function findDerivations(haystack: Buffer, derivations: Record<string, Buffer>): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(derivations)) {
    const forms = {
      raw: value,
      hex: Buffer.from(value.toString('hex')),
      HEX: Buffer.from(value.toString('hex').toUpperCase()),
      base64: Buffer.from(value.toString('base64').replace(/=+$/, '')),
      base64url: Buffer.from(value.toString('base64url')),
    };
    for (const [form, needle] of Object.entries(forms)) {
      if (haystack.includes(needle)) found.push(`${name} (${form})`);
    }
  }
  return found;
}
