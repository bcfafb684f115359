import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitError, encryptBuffer, padme, SegmentEncryptor } from '@conduit/shared';
import type { PointerV1, PresignedUrl } from '@conduit/shared';
import { sealEnvelope } from './files/envelope.js';
import type { DecryptEnvelope, EncryptEnvelope } from './files/envelope.js';
import { receivePointer } from './receive-pointer.js';
import type { ReceiveContext } from './receive-pointer.js';
import { ReceivedLog } from './state/received-log.js';
import { DownloadStateStore } from './transfer/download-state.js';

/** Object storage is a real local HTTP server (ranged GETs); the group cipher is a fake of the E3Kit port. */
const groupKey = randomBytes(32);
const encrypt: EncryptEnvelope = async (p) => {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', groupKey, iv);
  return Buffer.concat([iv, c.update(p), c.final(), c.getAuthTag()]);
};
const decrypt: DecryptEnvelope = async (s) => {
  const d = createDecipheriv('aes-256-gcm', groupKey, s.subarray(0, 12));
  d.setAuthTag(s.subarray(s.length - 16));
  return Buffer.concat([d.update(s.subarray(12, s.length - 16)), d.final()]);
};

const hex = () => randomBytes(16).toString('hex');
const GROUP = hex();
const objects = new Map<string, Buffer>();
let server: Server;
let storageUrl: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = objects.get(req.url?.slice(1) ?? '');
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!body || !range) return void res.writeHead(404).end();
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), body.length - 1);
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}` }).end(body.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  storageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'conduit-recv-'));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function sendOne(name: string, text: string, sender = { identity: 'alice', deviceId: 'alice-device-1' }) {
  const pointerId = hex();
  const objectId = hex();
  const plaintext = Buffer.from(text);
  const contentKey = randomBytes(32);
  const salt = randomBytes(32);
  const paddedLength = padme(plaintext.length);
  const object = encryptBuffer(plaintext, { contentKey, salt, padToLength: paddedLength });
  const { header, segmentSize } = new SegmentEncryptor({ contentKey, salt });
  const envelope = await sealEnvelope(
    {
      pointerId,
      objectId,
      contentKey,
      header,
      plainLength: plaintext.length,
      paddedLength,
      segmentSize,
      file: { name, type: 'text/plain' },
    },
    encrypt,
  );
  objects.set(objectId, object);
  const pointer: PointerV1 = {
    v: 1,
    kind: 'file',
    id: pointerId,
    groupId: GROUP,
    sender,
    objectId,
    size: object.length,
    envelope,
    createdAt: new Date().toISOString(),
  };
  return JSON.parse(JSON.stringify(pointer)) as PointerV1;
}

async function context(outDir: string, ackError?: ConduitError) {
  const acks: string[] = [];
  const downloads: string[] = [];
  const ctx: ReceiveContext = {
    self: { identity: 'bob', deviceId: 'bob-device-1' },
    groupId: GROUP,
    outDir,
    received: await ReceivedLog.open(join(outDir, '..', `${hex()}.jsonl`)),
    downloads: new DownloadStateStore(join(outDir, '..', `downloads-${hex()}`)),
    log: () => undefined,
    keys: { decryptorFor: async () => decrypt },
    api: {
      createDownload: async (_g, objectId): Promise<PresignedUrl> => {
        downloads.push(objectId);
        return {
          objectId,
          url: `${storageUrl}/${objectId}`,
          method: 'GET',
          headers: {},
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        };
      },
      ack: async (pointerId) => {
        acks.push(pointerId);
        if (ackError) throw ackError;
        return { pointerId, remaining: 0, complete: true };
      },
    },
  };
  return { ctx, acks, downloads };
}

describe('receivePointer', () => {
  it('writes the file, acknowledges it, and handles re-delivery without a second copy', async () => {
    const out = join(dir, 'inbox1');
    const { ctx, acks, downloads } = await context(out);
    const pointer = await sendOne('../../notes.txt', 'hello bob');
    const file = await receivePointer(ctx, pointer);
    expect(file?.name).toBe('_._notes.txt');
    expect(await readFile(file!.path, 'utf8')).toBe('hello bob');
    expect(acks).toEqual([pointer.id]);
    expect(await receivePointer(ctx, pointer)).toBeUndefined();
    expect(downloads).toHaveLength(1);
    expect(acks).toHaveLength(1);
    expect(await readdir(out)).toEqual(['_._notes.txt']);
  });

  it('only re-acknowledges a file written before a failed ack', async () => {
    const out = join(dir, 'inbox2');
    const failing = await context(out, new ConduitError('TRANSPORT'));
    const pointer = await sendOne('a.txt', 'once');
    await expect(receivePointer(failing.ctx, pointer)).rejects.toMatchObject({ code: 'TRANSPORT' });
    // Same device state, server reachable again.
    const retry = {
      ...failing.ctx,
      api: { ...failing.ctx.api, ack: async (id: string) => ({ pointerId: id, remaining: 0, complete: true }) },
    };
    expect(await receivePointer(retry, pointer)).toBeUndefined();
    expect(failing.downloads).toHaveLength(1);
    expect(await readdir(out)).toEqual(['a.txt']);
    expect(retry.received.get(pointer.id)).toBe('acked');
  });

  it('ignores pointers sent by this very device', async () => {
    const { ctx, downloads } = await context(join(dir, 'inbox3'));
    const own = await sendOne('mine.txt', 'x', { identity: 'bob', deviceId: 'bob-device-1' });
    expect(await receivePointer(ctx, own)).toBeUndefined();
    expect(downloads).toHaveLength(0);
  });

  it('rejects malformed items and pointers of another group, writing nothing', async () => {
    const out = join(dir, 'inbox4');
    const { ctx, acks } = await context(out);
    await expect(receivePointer(ctx, { v: 1, kind: 'file' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const other = { ...(await sendOne('b.txt', 'y')), groupId: hex() };
    await expect(receivePointer(ctx, other)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(acks).toHaveLength(0);
  });

  it('does not acknowledge or write a tampered object', async () => {
    const out = join(dir, 'inbox5');
    const { ctx, acks } = await context(out);
    const pointer = await sendOne('c.txt', 'secret');
    const stored = objects.get(pointer.objectId)!;
    stored[20] = stored[20]! ^ 1; // a salt byte: the header no longer matches the envelope's digest
    await expect(receivePointer(ctx, pointer)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(acks).toHaveLength(0);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });
});
