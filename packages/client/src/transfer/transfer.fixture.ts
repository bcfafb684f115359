import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { PointerV1 } from '@conduit/shared';
import { HttpClient } from '../api/http-client.js';
import { sealEnvelope } from '../files/envelope.js';
import { nodeObjectStorage } from '../platform/node/http-storage.js';
import { nodeSha256 } from '../platform/node/sha256.js';
import { nodeSourceFiles } from '../platform/node/source-files.js';
import { nodeStateFiles } from '../platform/node/state-files.js';
import type { KeySealer } from '../virgil/self-seal.js';
import { uploadFile } from './upload.js';
import type { UploadContext } from './upload.js';
import { UploadStateStore } from './upload-state.js';

/**
 * The transfer modules against a small real HTTP server that plays the Conduit upload routes and
 * an S3-like store (presigned part PUTs, ranged GETs with Content-Range). Faults are injectable.
 */
export const GROUP = randomBytes(16).toString('hex');
export const hex = () => randomBytes(16).toString('hex');

interface Upload {
  objectId: string;
  size: number;
  parts: Map<number, Buffer>;
  aborted: boolean;
}

export class FakeStorage {
  readonly uploads = new Map<string, Upload>();
  readonly objects = new Map<string, Buffer>();
  puts: number[] = [];
  ranges: string[] = [];
  /** Fail the next N part PUTs with this status. */
  failPuts: { count: number; status: number } = { count: 0, status: 500 };
  /** Cut the next ranged GET after this many bytes. */
  cutNextGet: number | undefined;
  /** Called for every ranged GET served. */
  onRange: (() => void) | undefined;
  server!: Server;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.writeHead(500).end());
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const body = await readBody(req);
    const json = (status: number, value: unknown): void =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && (m = /^\/v1\/groups\/(\w+)\/uploads$/.exec(url.pathname))) {
      const { size } = JSON.parse(body.toString()) as { size: number };
      const uploadId = hex();
      const objectId = hex();
      this.uploads.set(uploadId, { objectId, size, parts: new Map(), aborted: false });
      return json(201, { uploadId, objectId, size, expiresAt });
    }
    if ((m = /^\/v1\/groups\/\w+\/uploads\/(\w+)(\/parts|\/complete)?$/.exec(url.pathname))) {
      const upload = this.uploads.get(m[1] as string);
      if (!upload || upload.aborted || this.objects.has(upload.objectId)) {
        if (req.method === 'DELETE') return void res.writeHead(204).end();
        return json(404, { error: { code: 'NOT_FOUND', message: 'gone' } });
      }
      if (req.method === 'GET')
        return json(200, { uploadId: m[1], objectId: upload.objectId, size: upload.size, expiresAt });
      if (req.method === 'DELETE') {
        upload.aborted = true;
        return void res.writeHead(204).end();
      }
      if (m[2] === '/parts') {
        const { parts } = JSON.parse(body.toString()) as { parts: { partNumber: number }[] };
        return json(200, {
          parts: parts.map((p) => ({
            partNumber: p.partNumber,
            url: `${this.base}/s3/${m![1]}/${p.partNumber}`,
            headers: {},
          })),
          expiresAt,
        });
      }
      const { parts } = JSON.parse(body.toString()) as { parts: { partNumber: number; etag: string }[] };
      const data = Buffer.concat(parts.map((p) => upload.parts.get(p.partNumber) as Buffer));
      if (data.length !== upload.size) return json(400, { error: { code: 'VALIDATION_FAILED', message: 'size' } });
      this.objects.set(upload.objectId, data);
      return json(200, { objectId: upload.objectId, size: data.length });
    }
    if (req.method === 'PUT' && (m = /^\/s3\/(\w+)\/(\d+)$/.exec(url.pathname))) {
      if (this.failPuts.count > 0) {
        this.failPuts.count--;
        return void res.writeHead(this.failPuts.status).end();
      }
      if (Number(req.headers['content-length']) !== body.length) return void res.writeHead(400).end();
      this.uploads.get(m[1] as string)?.parts.set(Number(m[2]), body);
      this.puts.push(Number(m[2]));
      return void res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
    }
    if (req.method === 'GET' && (m = /^\/v1\/groups\/\w+\/objects\/(\w+)$/.exec(url.pathname))) {
      return json(200, { objectId: m[1], url: `${this.base}/obj/${m[1]}`, method: 'GET', headers: {}, expiresAt });
    }
    if (req.method === 'GET' && (m = /^\/obj\/(\w+)$/.exec(url.pathname))) {
      const object = this.objects.get(m[1] as string);
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!object || !range) return void res.writeHead(404).end();
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), object.length - 1);
      this.ranges.push(`${start}-${end}`);
      this.onRange?.();
      res.writeHead(206, {
        'content-range': `bytes ${start}-${end}/${object.length}`,
        'content-length': end - start + 1,
      });
      const cut = this.cutNextGet;
      if (cut !== undefined) {
        this.cutNextGet = undefined;
        res.write(object.subarray(start, start + cut));
        return void res.destroy();
      }
      return void res.end(object.subarray(start, end + 1));
    }
    res.writeHead(404).end();
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Stands in for E3Kit: the sealed key is AES-GCM under a test key, so tests can see which key was used. */
export const sealerKey = randomBytes(32);
export const sealer: KeySealer = {
  seal: async (secret) => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', sealerKey, iv);
    return Buffer.concat([iv, c.update(secret), c.final(), c.getAuthTag()]).toString('base64');
  },
  open: async (sealed) => {
    const raw = Buffer.from(sealed, 'base64');
    const d = createDecipheriv('aes-256-gcm', sealerKey, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
  },
};
export const groupCipher = {
  encrypt: async (b: Buffer) => Buffer.from(b),
  decrypt: async (b: Buffer) => Buffer.from(b),
};

// Live bindings: set by useTransferFixture() before each file's tests run.
export let storage: FakeStorage;
export let dir: string;
export let api: HttpClient;

/** Starts the fake server and a scratch folder for the calling test file. */
export function useTransferFixture(): void {
  beforeAll(async () => {
    storage = new FakeStorage();
    await storage.start();
    dir = await mkdtemp(join(tmpdir(), 'conduit-transfer-'));
    api = new HttpClient({ baseUrl: storage.base });
    api.setSession('test-token');
  });

  afterAll(async () => {
    await storage.stop();
    await rm(dir, { recursive: true, force: true });
  });
}

export const MiB = 1024 * 1024;
export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function uploadCtx(stateDir: string): UploadContext {
  return {
    api,
    store: new UploadStateStore(stateDir, nodeStateFiles, nodeSha256),
    source: nodeSourceFiles,
    storage: nodeObjectStorage,
    sha256: nodeSha256,
    keys: sealer,
    log: () => undefined,
  };
}

export async function makeFile(name: string, size: number): Promise<{ path: string; data: Buffer }> {
  const path = join(dir, name);
  const data = randomBytes(size);
  await writeFile(path, data);
  return { path, data };
}

/** Builds the pointer the client would publish for an upload. */
export async function pointerFor(up: Awaited<ReturnType<typeof uploadFile>>, name: string): Promise<PointerV1> {
  const sender = { identity: 'alice', deviceId: 'alice-device-1' };
  const envelope = await sealEnvelope(
    { ...up, sender, groupId: GROUP, file: { name, type: 'application/octet-stream' } },
    groupCipher.encrypt,
  );
  return {
    v: 1,
    kind: 'file',
    id: up.pointerId,
    groupId: GROUP,
    sender,
    objectId: up.objectId,
    size: up.size,
    envelope,
    createdAt: new Date().toISOString(),
  };
}

/** Runs uploadFile in a child process (the compiled module) and SIGKILLs it once `parts` parts landed. */
export async function runChildUntilParts(path: string, stateDir: string, parts: number): Promise<void> {
  const upload = fileURLToPath(new URL('../../dist/transfer/upload.js', import.meta.url));
  const store = fileURLToPath(new URL('../../dist/transfer/upload-state.js', import.meta.url));
  const http = fileURLToPath(new URL('../../dist/api/http-client.js', import.meta.url));
  const platform = fileURLToPath(new URL('../../dist/platform/node.js', import.meta.url));
  const script = `
    const { uploadFile } = await import(${JSON.stringify(upload)});
    const { UploadStateStore } = await import(${JSON.stringify(store)});
    const { nodePlatform: p } = await import(${JSON.stringify(platform)});
    const { HttpClient } = await import(${JSON.stringify(http)});
    const api = new HttpClient({ baseUrl: ${JSON.stringify(storage.base)} });
    api.setSession('t');
    const { createCipheriv, randomBytes } = await import('node:crypto');
    const sealerKey = Buffer.from(${JSON.stringify(sealerKey.toString('hex'))}, 'hex');
    const keys = {
      seal: async (secret) => {
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', sealerKey, iv);
        return Buffer.concat([iv, c.update(secret), c.final(), c.getAuthTag()]).toString('base64');
      },
    };
    const store = new UploadStateStore(${JSON.stringify(stateDir)}, p.stateFiles, p.sha256);
    await uploadFile({ api, store, source: p.sourceFiles, storage: p.objectStorage, sha256: p.sha256, keys, log: () => {} },
      ${JSON.stringify(GROUP)}, ${JSON.stringify(path)}, { name: 'k', type: 'x/y' }, { concurrency: 1 });
  `;
  const before = storage.puts.length;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  while (storage.puts.length - before < parts) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('the child did not upload in time');
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  await exited;
}
