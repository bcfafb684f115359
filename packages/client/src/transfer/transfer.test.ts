import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ciphertextSize, decryptBuffer, headerDigest, padme } from '@conduit/shared';
import type { PointerV1 } from '@conduit/shared';
import { HttpClient } from '../api/http-client.js';
import { openEnvelope, sealEnvelope } from '../files/envelope.js';
import { nodeDownloadSink } from '../platform/node/download-sink.js';
import { nodeObjectStorage } from '../platform/node/http-storage.js';
import { nodeSha256 } from '../platform/node/sha256.js';
import { nodeSourceFiles } from '../platform/node/source-files.js';
import { nodeStateFiles } from '../platform/node/state-files.js';
import type { KeySealer } from '../virgil/self-seal.js';
import { downloadToFile } from './download.js';
import { DownloadStateStore } from './download-state.js';
import { readPlainRange } from './range-read.js';
import type { TransferProgress } from './progress.js';
import { uploadFile } from './upload.js';
import type { UploadContext } from './upload.js';
import { UploadStateStore } from './upload-state.js';

/**
 * The transfer modules against a small real HTTP server that plays the Conduit upload routes and
 * an S3-like store (presigned part PUTs, ranged GETs with Content-Range). Faults are injectable.
 */
const GROUP = randomBytes(16).toString('hex');
const hex = () => randomBytes(16).toString('hex');

interface Upload {
  objectId: string;
  size: number;
  parts: Map<number, Buffer>;
  aborted: boolean;
}

class FakeStorage {
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
const sealerKey = randomBytes(32);
const sealer: KeySealer = {
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
const groupCipher = { encrypt: async (b: Buffer) => Buffer.from(b), decrypt: async (b: Buffer) => Buffer.from(b) };

let storage: FakeStorage;
let dir: string;
let api: HttpClient;

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

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function uploadCtx(stateDir: string): UploadContext {
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

async function makeFile(name: string, size: number): Promise<{ path: string; data: Buffer }> {
  const path = join(dir, name);
  const data = randomBytes(size);
  await writeFile(path, data);
  return { path, data };
}

/** Builds the pointer the client would publish for an upload. */
async function pointerFor(up: Awaited<ReturnType<typeof uploadFile>>, name: string): Promise<PointerV1> {
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

describe('uploadFile', () => {
  it('stores a padded container in whole-segment parts, with the header in part 1', async () => {
    const { path, data } = await makeFile('a.bin', 20 * MiB + 12345);
    const events: TransferProgress[] = [];
    storage.puts = [];
    const up = await uploadFile(
      uploadCtx(join(dir, 'state-a')),
      GROUP,
      path,
      { name: 'a.bin', type: 'x/y' },
      {
        segmentSize: 1 * MiB,
        onProgress: (e) => events.push(e),
      },
    );
    expect(up.paddedLength).toBe(padme(data.length));
    expect(up.size).toBe(ciphertextSize(padme(data.length), MiB));
    const stored = storage.objects.get(up.objectId) as Buffer;
    expect(stored.length).toBe(up.size);
    expect(stored.subarray(0, 42).equals(up.header)).toBe(true);
    // 8 segments per part: 21 segments of stream -> 3 parts, the first 42 + 8 x (1 MiB + 16) bytes.
    expect([...storage.puts].sort()).toEqual([1, 2, 3]);
    const plain = decryptBuffer(stored, {
      contentKey: up.contentKey,
      plainLength: data.length,
      paddedLength: up.paddedLength,
      headerDigest: headerDigest(up.header),
    });
    expect(plain.equals(data)).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: 'uploading', bytesDone: data.length, bytesTotal: data.length });
    await up.finish();
    expect(await readdir(join(dir, 'state-a'))).toEqual([]);
  });

  it('retries a part after a 5xx and never re-encrypts different bytes for it', async () => {
    const { path, data } = await makeFile('retry.bin', 3 * MiB);
    storage.failPuts = { count: 2, status: 503 };
    const up = await uploadFile(
      uploadCtx(join(dir, 'state-r')),
      GROUP,
      path,
      { name: 'r', type: 'x/y' },
      { pad: false },
    );
    expect(up.paddedLength).toBe(data.length);
    expect(storage.objects.get(up.objectId)?.length).toBe(ciphertextSize(data.length, MiB));
    await up.finish();
  });

  it('keeps the state owner-only and never stores the content key in the clear', async () => {
    const { path } = await makeFile('state.bin', 1 * MiB);
    const stateDir = join(dir, 'state-s');
    const up = await uploadFile(uploadCtx(stateDir), GROUP, path, { name: 's', type: 'x/y' });
    const [file] = await readdir(stateDir);
    const statePath = join(stateDir, file as string);
    expect((await stat(statePath)).mode & 0o777).toBe(0o600);
    const text = await readFile(statePath, 'utf8');
    expect(text.includes(up.contentKey.toString('base64'))).toBe(false);
    expect(text.includes(up.contentKey.toString('hex'))).toBe(false);
    await up.finish();
  });

  it('resumes after the sending process is killed mid-upload, re-sending only unfinished parts', async () => {
    const { path, data } = await makeFile('killed.bin', 64 * MiB);
    const stateDir = join(dir, 'state-k');
    storage.puts = [];
    await runChildUntilParts(path, stateDir, 3);
    const statePath = join(stateDir, (await readdir(stateDir))[0] as string);
    const doneBefore = (await readFile(statePath, 'utf8'))
      .split('\n')
      .filter((l) => l.includes('"done"'))
      .map((l) => (JSON.parse(l) as { done: number }).done);
    expect(doneBefore.length).toBeGreaterThanOrEqual(2);
    storage.puts = [];
    const up = await uploadFile(uploadCtx(stateDir), GROUP, path, { name: 'k', type: 'x/y' });
    expect(up.resumed).toBe(true);
    // 64 MiB = 8 parts: the ones recorded as done were not sent again, all others were.
    expect(storage.puts.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].filter((p) => !doneBefore.includes(p)));
    const stored = storage.objects.get(up.objectId) as Buffer;
    const plain = decryptBuffer(stored, {
      contentKey: up.contentKey,
      plainLength: data.length,
      paddedLength: up.paddedLength,
    });
    expect(sha(plain)).toBe(sha(data));
    await up.finish();
  });

  it('starts a new object with a fresh key when the file changed between attempts', async () => {
    const { path, data } = await makeFile('changed.bin', 64 * MiB);
    const stateDir = join(dir, 'state-c');
    await runChildUntilParts(path, stateDir, 2);
    const first = JSON.parse(
      (await readFile(join(stateDir, (await readdir(stateDir))[0] as string), 'utf8')).split('\n')[0] as string,
    ) as {
      objectId: string;
      uploadId: string;
      sealedKey: string;
      mtimeMs: number;
    };
    const oldKey = await sealer.open(first.sealedKey);
    // Same size and mtime: only the digests of the parts already sent can tell.
    data[100] = (data[100] as number) ^ 0xff;
    await writeFile(path, data);
    await utimes(path, new Date(), new Date(first.mtimeMs));
    const up = await uploadFile(uploadCtx(stateDir), GROUP, path, { name: 'c', type: 'x/y' });
    expect(up.resumed).toBe(false);
    expect(up.objectId).not.toBe(first.objectId);
    expect(up.contentKey.equals(oldKey)).toBe(false);
    expect(storage.uploads.get(first.uploadId)?.aborted).toBe(true);
    const plain = decryptBuffer(storage.objects.get(up.objectId) as Buffer, {
      contentKey: up.contentKey,
      plainLength: data.length,
      paddedLength: up.paddedLength,
    });
    expect(plain.equals(data)).toBe(true);
    await up.finish();
  });

  it('refuses --resume when there is nothing to resume', async () => {
    const { path } = await makeFile('none.bin', 1000);
    await expect(
      uploadFile(uploadCtx(join(dir, 'state-n')), GROUP, path, { name: 'n', type: 'x/y' }, { resume: 'require' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('downloadToFile and readPlainRange', () => {
  let pointer: PointerV1;
  let data: Buffer;

  beforeAll(async () => {
    const file = await makeFile('dl-src.bin', 30 * MiB + 777);
    data = file.data;
    const up = await uploadFile(
      uploadCtx(join(dir, 'state-d')),
      GROUP,
      file.path,
      { name: 'x', type: 'x/y' },
      { segmentSize: 256 * 1024 },
    );
    pointer = await pointerFor(up, 'report.bin');
    await up.finish();
  });

  it('downloads with parallel ranges, verifies, truncates padding and names the file', async () => {
    const out = join(dir, 'inbox-1');
    const envelope = await openEnvelope(pointer, groupCipher.decrypt);
    storage.ranges = [];
    const events: TransferProgress[] = [];
    const path = await downloadToFile(
      {
        api,
        store: new DownloadStateStore(join(dir, 'dl-state-1'), nodeStateFiles),
        sink: nodeDownloadSink,
        storage: nodeObjectStorage,
        log: () => undefined,
      },
      pointer,
      envelope,
      out,
      'report.bin',
      { onProgress: (e) => events.push(e) },
    );
    expect(path).toBe(join(out, 'report.bin'));
    expect(sha(await readFile(path))).toBe(sha(data));
    expect(await readdir(out)).toEqual(['report.bin']);
    expect(storage.ranges.length).toBeGreaterThan(3);
    expect(events.at(-1)).toMatchObject({ phase: 'finishing', bytesDone: data.length });
  });

  it('resumes after a broken connection and refuses a tampered object without releasing plaintext', async () => {
    const out = join(dir, 'inbox-2');
    const envelope = await openEnvelope(pointer, groupCipher.decrypt);
    storage.cutNextGet = 1000;
    const path = await downloadToFile(
      {
        api,
        store: new DownloadStateStore(join(dir, 'dl-state-2'), nodeStateFiles),
        sink: nodeDownloadSink,
        storage: nodeObjectStorage,
        log: () => undefined,
      },
      pointer,
      envelope,
      out,
      'report.bin',
    );
    expect(sha(await readFile(path))).toBe(sha(data));

    const stored = storage.objects.get(pointer.objectId) as Buffer;
    const original = Buffer.from(stored);
    stored[stored.length - 100] = (stored[stored.length - 100] as number) ^ 1;
    try {
      const bad = join(dir, 'inbox-3');
      await expect(
        downloadToFile(
          {
            api,
            store: new DownloadStateStore(join(dir, 'dl-state-3'), nodeStateFiles),
            sink: nodeDownloadSink,
            storage: nodeObjectStorage,
            log: () => undefined,
          },
          pointer,
          await openEnvelope(pointer, groupCipher.decrypt),
          bad,
          'report.bin',
        ),
      ).rejects.toMatchObject({ code: 'INTEGRITY' });
      expect(await readdir(bad)).toEqual([]);
    } finally {
      original.copy(stored);
    }
  });

  it('resumes an interrupted download from its checkpoint, fetching only the missing ranges', async () => {
    const out = join(dir, 'inbox-4');
    const store = new DownloadStateStore(join(dir, 'dl-state-4'), nodeStateFiles);
    const ctx = { api, store, sink: nodeDownloadSink, storage: nodeObjectStorage, log: () => undefined };
    const opts = { concurrency: 1, rangeSize: 1024 * 1024 };
    const stop = new AbortController();
    storage.ranges = [];
    storage.onRange = () => {
      if (storage.ranges.length === 12) stop.abort(new Error('interrupted'));
    };
    try {
      await expect(
        downloadToFile(ctx, pointer, await openEnvelope(pointer, groupCipher.decrypt), out, 'report.bin', {
          ...opts,
          signal: stop.signal,
        }),
      ).rejects.toThrow();
    } finally {
      storage.onRange = undefined;
    }
    // Verified plaintext so far sits in the download's private folder; nothing has the final name yet.
    expect(await readdir(out)).toEqual([expect.stringMatching(/^\.conduit-partial-/)]);
    expect(await store.load(pointer.id)).toBeDefined();
    const envelope = await openEnvelope(pointer, groupCipher.decrypt);
    const perRange = Math.round(MiB / (envelope.segmentSize + 16));
    const total = Math.ceil(Math.ceil(envelope.paddedLength / envelope.segmentSize) / perRange);
    storage.ranges = [];
    const path = await downloadToFile(
      ctx,
      pointer,
      await openEnvelope(pointer, groupCipher.decrypt),
      out,
      'report.bin',
      opts,
    );
    expect(sha(await readFile(path))).toBe(sha(data));
    // The header, then only the ranges not finished before the interruption (11 were served).
    expect(storage.ranges.length - 1).toBeLessThanOrEqual(total - 9);
    expect(storage.ranges.length - 1).toBeGreaterThanOrEqual(total - 11);
    expect(await readdir(out)).toEqual(['report.bin']);
    expect(await store.load(pointer.id)).toBeUndefined();
  });

  it('refuses a symbolic link under the final name: its target untouched, no plaintext left behind', async () => {
    const out = join(dir, 'inbox-5');
    const store = new DownloadStateStore(join(dir, 'dl-state-5'), nodeStateFiles);
    const victim = join(dir, 'victim-5.txt');
    await writeFile(victim, 'not yours');
    await mkdir(out, { recursive: true });
    await symlink(victim, join(out, 'report.bin'));
    await expect(
      downloadToFile(
        { api, store, sink: nodeDownloadSink, storage: nodeObjectStorage, log: () => undefined },
        pointer,
        await openEnvelope(pointer, groupCipher.decrypt),
        out,
        'report.bin',
      ),
    ).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(await readFile(victim, 'utf8')).toBe('not yours');
    expect(await readdir(out)).toEqual(['report.bin']);
    expect(await store.load(pointer.id)).toBeUndefined();
  });

  it('readPlainRange fetches only the covering segments', async () => {
    const envelope = await openEnvelope(pointer, groupCipher.decrypt);
    storage.ranges = [];
    const start = 5 * 256 * 1024 + 10;
    const part = await readPlainRange(api, nodeObjectStorage, pointer, envelope, start, start + 1000);
    expect(part.equals(data.subarray(start, start + 1000))).toBe(true);
    const seg = 256 * 1024 + 16;
    expect(storage.ranges).toEqual(['0-41', `${42 + 5 * seg}-${42 + 6 * seg - 1}`]);
  });

  it('rejects an envelope that names another object', async () => {
    await expect(openEnvelope({ ...pointer, objectId: hex() }, groupCipher.decrypt)).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
    await expect(openEnvelope({ ...pointer, size: pointer.size + 16 }, groupCipher.decrypt)).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
  });
});

/** Runs uploadFile in a child process (the compiled module) and SIGKILLs it once `parts` parts landed. */
async function runChildUntilParts(path: string, stateDir: string, parts: number): Promise<void> {
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
