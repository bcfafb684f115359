import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitError, encryptBuffer, envelopeSha256, padme, SegmentEncryptor } from '@conduit/shared';
import type { AnomalyReport, PointerStatus, PointerV1, PresignedUrl } from '@conduit/shared';
import { sealEnvelope } from './files/envelope.js';
import { nodeDownloadSink } from './platform/node/download-sink.js';
import { nodeObjectStorage } from './platform/node/http-storage.js';
import { nodeStateFiles } from './platform/node/state-files.js';
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
/** The ledger as the server would answer for each registered pointer. */
const ledger = new Map<string, PointerStatus>();
const BOB = { identity: 'bob', deviceId: 'bob-device-1' };
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

async function sendOne(
  name: string,
  text: string,
  sender = { identity: 'alice', deviceId: 'alice-device-1' },
  opts: { register?: boolean; expected?: (typeof BOB)[] } = {},
) {
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
      sender,
      groupId: GROUP,
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
  if (opts.register ?? true) {
    ledger.set(pointerId, {
      pointerId,
      groupId: GROUP,
      sender,
      state: 'pending',
      expected: opts.expected ?? [BOB],
      acknowledged: [],
      createdAt: pointer.createdAt,
      objectId,
      envelopeSha256: envelopeSha256(envelope),
      receipts: [],
      anomalies: [],
    });
  }
  return JSON.parse(JSON.stringify(pointer)) as PointerV1;
}

async function context(outDir: string, ackError?: ConduitError, deviceError?: ConduitError) {
  const acks: string[] = [];
  const downloads: string[] = [];
  const anomalies: AnomalyReport[] = [];
  const ctx: ReceiveContext = {
    self: BOB,
    groupId: GROUP,
    outDir,
    received: await ReceivedLog.open(join(outDir, '..', `${hex()}.jsonl`), nodeStateFiles),
    downloads: new DownloadStateStore(join(outDir, '..', `downloads-${hex()}`), nodeStateFiles),
    sink: nodeDownloadSink,
    storage: nodeObjectStorage,
    log: () => undefined,
    keys: { decryptorFor: async () => decrypt },
    senderDevices: {
      check: async () => {
        if (deviceError) throw deviceError;
      },
    },
    sign: async () => 'c2lnbmF0dXJl',
    api: {
      pointerStatus: async (pointerId) => {
        const status = ledger.get(pointerId);
        if (!status) throw new ConduitError('POINTER_NOT_FOUND');
        return status;
      },
      reportAnomaly: async (_g, report) => {
        anomalies.push(report);
        return { recorded: true };
      },
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
  return { ctx, acks, downloads, anomalies };
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
    const { ctx, acks, anomalies } = await context(out);
    const pointer = await sendOne('c.txt', 'secret');
    const stored = objects.get(pointer.objectId)!;
    stored[20] = stored[20]! ^ 1; // a salt byte: the header no longer matches the envelope's digest
    await expect(receivePointer(ctx, pointer)).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(acks).toHaveLength(0);
    expect(await readdir(out).catch(() => [])).toEqual([]);
    expect(anomalies).toEqual([{ pointerId: pointer.id, kind: 'unverifiable', code: 'INTEGRITY' }]);
    expect(ctx.received.get(pointer.id)).toBe('anomaly');
    expect(await receivePointer(ctx, pointer)).toBeUndefined(); // final: never retried into an ack
    expect(acks).toHaveLength(0);
  });

  it('refuses an envelope from a revoked sender device: anomaly, no file, no receipt', async () => {
    const out = join(dir, 'inbox6');
    const { ctx, acks, downloads, anomalies } = await context(
      out,
      undefined,
      new ConduitError('SENDER_DEVICE_REVOKED'),
    );
    const pointer = await sendOne('d.txt', 'from a stolen laptop');
    await expect(receivePointer(ctx, pointer)).rejects.toMatchObject({ code: 'SENDER_DEVICE_REVOKED' });
    expect([acks, downloads]).toEqual([[], []]);
    expect(anomalies).toEqual([{ pointerId: pointer.id, kind: 'unverifiable', code: 'SENDER_DEVICE_REVOKED' }]);
  });

  it('refuses an item naming another device than its envelope (SENDER_MISMATCH)', async () => {
    const { ctx, acks, anomalies } = await context(join(dir, 'inbox7'));
    const pointer = await sendOne('e.txt', 'x');
    const moved = { ...pointer, sender: { identity: 'alice', deviceId: 'alice-device-2' } };
    await expect(receivePointer(ctx, moved)).rejects.toMatchObject({ code: 'SENDER_MISMATCH' });
    expect(acks).toHaveLength(0);
    expect(anomalies.map((a) => a.code)).toEqual(['SENDER_MISMATCH']);
  });

  it('reports a pointer the ledger does not know, or binds differently, before writing anything', async () => {
    const out = join(dir, 'inbox8');
    const { ctx, acks, downloads, anomalies } = await context(out);
    const unknown = await sendOne('f.txt', 'x', undefined, { register: false });
    await expect(receivePointer(ctx, unknown)).rejects.toMatchObject({ code: 'POINTER_NOT_FOUND' });
    const changed = await sendOne('g.txt', 'y');
    ledger.set(changed.id, { ...ledger.get(changed.id)!, envelopeSha256: 'ee'.repeat(32) });
    await expect(receivePointer(ctx, changed)).rejects.toMatchObject({ code: 'POINTER_MISMATCH' });
    expect([acks, downloads]).toEqual([[], []]);
    expect(anomalies).toEqual([
      { pointerId: unknown.id, kind: 'unknown', code: 'POINTER_NOT_FOUND' },
      { pointerId: changed.id, kind: 'changed', code: 'POINTER_MISMATCH' },
    ]);
  });

  it('skips (never acks, never reports) a pointer sent before this device joined', async () => {
    const out = join(dir, 'inbox9');
    const { ctx, acks, downloads, anomalies } = await context(out);
    const before = await sendOne('h.txt', 'x', undefined, { expected: [] });
    expect(await receivePointer(ctx, before)).toBeUndefined();
    expect([acks, downloads, anomalies]).toEqual([[], [], []]);
    expect(ctx.received.get(before.id)).toBe('skipped');
  });

  it('reports an item that changed after this endpoint verified it', async () => {
    const { ctx, acks, anomalies } = await context(join(dir, 'inbox10'));
    const pointer = await sendOne('i.txt', 'x');
    await receivePointer(ctx, pointer);
    const other = await sendOne('j.txt', 'y');
    expect(await receivePointer(ctx, { ...other, id: pointer.id })).toBeUndefined();
    expect(acks).toEqual([pointer.id]);
    expect(anomalies).toEqual([{ pointerId: pointer.id, kind: 'changed', code: 'POINTER_MISMATCH' }]);
  });
});
