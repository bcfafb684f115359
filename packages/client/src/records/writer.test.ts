import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecordEnvelope, MAX_INLINE_VALUE_BYTES } from '@conduit/shared';
import type { PutRecordBatchItem, RecordBatchItemResult, RecordEnvelopeV2, RecordVersion } from '@conduit/shared';
import type { RecordBatcher } from './batcher.js';
import { deriveRecordId } from './record-id.js';
import type { RecordEntry } from './replica.js';
import { writeRecord } from './writer.js';
import type { WriterDeps } from './writer.js';

const hex = () => randomBytes(16).toString('hex');
const groupId = hex();
const self = { identity: 'alice', deviceId: 'device-aaaa' };
// The "cipher" is the identity: these tests look at what the writer seals, not at E3Kit.
const encrypt = async (plain: Buffer) => Buffer.from(plain);
const opened = (item: PutRecordBatchItem) =>
  decodeRecordEnvelope(Buffer.from(item.envelope, 'base64')) as RecordEnvelopeV2;

/** An S3 stand-in for presigned PUTs: counts the objects uploaded. */
let uploads = 0;
let storage: ReturnType<typeof createServer>;
let storageUrl: string;
beforeAll(async () => {
  storage = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      uploads += 1;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => storage.listen(0, '127.0.0.1', () => r()));
  storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}/object`;
});
afterAll(() => new Promise<void>((r) => storage.close(() => r())));

/** Writer deps whose batcher answers from `answer` and records every item it was given. */
function writer(
  answer: (item: PutRecordBatchItem, n: number) => RecordBatchItemResult,
  over: Partial<WriterDeps> = {},
) {
  const submitted: PutRecordBatchItem[] = [];
  const applied: RecordEntry[] = [];
  const batcher = {
    submit: async (item: PutRecordBatchItem) => {
      submitted.push(item);
      return answer(item, submitted.length);
    },
  } as unknown as RecordBatcher;
  const deps: WriterDeps = {
    groupId,
    self,
    api: {
      createUpload: async () => ({
        objectId: hex(),
        url: storageUrl,
        method: 'PUT' as const,
        headers: {},
        expiresAt: new Date().toISOString(),
      }),
    },
    batcher,
    encryptor: async () => encrypt,
    inlineMaxBytes: 4096,
    log: () => undefined,
    localHead: () => null,
    openHead: async () => null,
    applyWritten: async (e) => void applied.push(e),
    ...over,
  };
  return { deps, submitted, applied };
}
const created = (item: PutRecordBatchItem, seq = 1): RecordBatchItemResult => ({
  status: 'created',
  version: { ...versionOf(item), seq },
});
const versionOf = (item: PutRecordBatchItem): RecordVersion => ({
  ...item,
  seq: 1,
  size: 0,
  sender: self,
  createdAt: new Date(0).toISOString(),
});

describe('writeRecord', () => {
  it('seals a small value inline (no object), a large one as an object, a tombstone as neither', async () => {
    const { deps, submitted, applied } = writer((item) => created(item));
    const before = uploads;
    const small = await writeRecord(deps, 'k', deriveRecordId(groupId, 'k'), { value: { a: 1 } }, {});
    expect(submitted[0]?.objectId).toBeNull();
    expect(opened(submitted[0]!)).toMatchObject({ v: 2, content: null, deleted: false });
    expect(JSON.parse(Buffer.from(opened(submitted[0]!).inline!, 'base64').toString())).toEqual({ a: 1 });
    expect(uploads).toBe(before);
    expect(applied).toEqual([small]);

    await writeRecord(deps, 'k', deriveRecordId(groupId, 'k'), { value: 'x'.repeat(5000) }, {});
    expect(submitted[1]?.objectId).toMatch(/^[0-9a-f]{32}$/);
    expect(opened(submitted[1]!)).toMatchObject({ inline: null, content: { plainLength: 5002 } });
    expect(uploads).toBe(before + 1);

    await writeRecord(deps, 'k', deriveRecordId(groupId, 'k'), { deleted: true }, {});
    expect(opened(submitted[2]!)).toMatchObject({ deleted: true, content: null, inline: null });
  });

  it('moves a maximal inline value that would not fit the envelope to S3', async () => {
    const { deps, submitted } = writer((item) => created(item), { inlineMaxBytes: MAX_INLINE_VALUE_BYTES });
    const key = '"'.repeat(256); // escaped in JSON: 512 bytes
    const value = 'v'.repeat(MAX_INLINE_VALUE_BYTES - 2);
    await writeRecord(deps, key, deriveRecordId(groupId, key), { value }, {});
    expect(submitted[0]?.objectId).not.toBeNull();
    expect(opened(submitted[0]!).inline).toBeNull();
  });

  it('on a conflict merges with the verified remote head and resubmits on top of it', async () => {
    const remote: RecordEntry = {
      key: 'k',
      recordId: deriveRecordId(groupId, 'k'),
      versionId: hex(),
      parentVersionId: null,
      pointerId: hex(),
      seq: 7,
      deleted: false,
      value: { items: ['milk'] },
      sender: { identity: 'bob', deviceId: 'device-bbbb' },
      createdAt: new Date(0).toISOString(),
    };
    const { deps, submitted } = writer(
      (item, n) => (n === 1 ? { status: 'conflict', head: versionOf(item) } : created(item, 8)),
      { openHead: async () => remote },
    );
    const merge = (local: unknown, theirs: RecordEntry | null) => ({
      items: [...((theirs?.value as { items: string[] }).items ?? []), ...(local as { items: string[] }).items],
    });
    const written = await writeRecord(deps, 'k', remote.recordId, { value: { items: ['eggs'] } }, { merge });
    expect(submitted).toHaveLength(2);
    expect(submitted[1]?.parentVersionId).toBe(remote.versionId);
    expect(submitted[1]?.versionId).not.toBe(submitted[0]?.versionId);
    expect(written).toMatchObject({ seq: 8, parentVersionId: remote.versionId, value: { items: ['milk', 'eggs'] } });
  });

  it("rejects with a failed item's code, and refuses an answer about another version", async () => {
    const failing = writer(() => ({ status: 'failed', code: 'POINTER_EXISTS', message: 'taken' }));
    await expect(writeRecord(failing.deps, 'k', deriveRecordId(groupId, 'k'), { value: 1 }, {})).rejects.toMatchObject({
      code: 'POINTER_EXISTS',
    });
    const lying = writer((item) => created({ ...item, versionId: hex() }));
    await expect(writeRecord(lying.deps, 'k', deriveRecordId(groupId, 'k'), { value: 1 }, {})).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
    expect(lying.applied).toEqual([]);
  });
});
