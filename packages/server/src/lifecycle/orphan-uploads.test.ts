import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverS3Config, startS3, type LocalS3 } from '@conduit/devstack';
import type { OpenMultipartUpload } from '@conduit/shared';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { createKeys } from '../adapters/redis/keys.js';
import { UploadRepository } from '../files/uploads/upload-repository.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix } from '../testing/fakes.js';
import { OrphanUploadsStep } from './orphan-uploads.js';
import type { RetentionRunContext } from './retention-step.js';

// Real Redis and the devstack S3 (which aborts and lists multipart uploads as S3 does).
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const TTL_SECONDS = 3600;
const AGE_MS = TTL_SECONDS * 1000 + 3600_000;
let dir: string;
let s3: LocalS3;
let store: S3ObjectStore;
let redis: Redis;
let audit: AuditLog;
let repo: UploadRepository;
let step: OrphanUploadsStep;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-orphans-'));
  s3 = await startS3({ directory: dir, lifecycle: null });
  store = new S3ObjectStore(serverS3Config(s3, 300));
  redis = new Redis(TEST_REDIS_URL);
  audit = new AuditLog(redis, keys);
  repo = new UploadRepository(redis, keys);
  step = new OrphanUploadsStep({
    redis,
    keys,
    store,
    uploads: repo,
    audit,
    uploadTtlSeconds: TTL_SECONDS,
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  store?.close();
  await s3?.close();
  await redis?.quit();
  await deleteKeys(prefix);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const key = (name: string) => `objects/${'a'.repeat(32)}/${name}-${++counter}`;

async function listed(): Promise<OpenMultipartUpload[]> {
  const all: OpenMultipartUpload[] = [];
  for await (const page of store.listMultipartUploads('')) all.push(...page);
  return all;
}

async function initiated(k: string): Promise<OpenMultipartUpload> {
  return (await listed()).find((u) => u.key === k)!;
}

/** Runs the step at `now`, recording what it asked of the delete budget. */
async function run(now: Date, signal = new AbortController().signal) {
  const taken: number[] = [];
  const ctx: RetentionRunContext = { now, signal, takeDeletes: async (n) => void taken.push(n) };
  return { result: await step.run(ctx), taken };
}

async function receipts(): Promise<Record<string, unknown>[]> {
  await audit.seal();
  const { seq } = await audit.head();
  const out: Record<string, unknown>[] = [];
  for await (const lines of audit.lines(1, seq)) {
    for (const line of lines) out.push((JSON.parse(line) as { entry: Record<string, unknown> }).entry);
  }
  return out.filter((e) => e.type === 'uploads-aborted');
}

describe('orphan multipart uploads (retention step "uploads")', () => {
  it('aborts old uploads under objects/ that Conduit does not hold open, one receipt, once', async () => {
    const orphans = [key('lost'), key('lost'), key('lost')];
    for (const k of orphans) await store.createMultipartUpload(k);
    const tracked = key('tracked');
    const { storeUploadId } = await store.createMultipartUpload(tracked);
    await repo.create({
      uploadId: 'f'.repeat(32),
      groupId: 'a'.repeat(32),
      objectId: 'b'.repeat(32),
      key: tracked,
      storeUploadId,
      size: 10,
      identity: 'alice',
      deviceId: 'dev-a',
      createdAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + TTL_SECONDS * 1000).toISOString(),
    });
    const outside = `feeds/${++counter}`;
    await store.createMultipartUpload(outside);
    // Initiation times have millisecond resolution: the young upload starts strictly later.
    await sleep(20);
    const young = key('young');
    await store.createMultipartUpload(young);
    const now = new Date((await initiated(young)).initiated.getTime() + AGE_MS);

    const first = await run(now);
    expect(first.result).toEqual({ deleted: 3, bytes: 0, held: {}, failed: 0 });
    expect(first.taken).toEqual([3]);
    const left = (await listed()).map((u) => u.key);
    for (const k of orphans) expect(left).not.toContain(k);
    expect(left).toEqual(expect.arrayContaining([tracked, outside, young]));
    const [receipt, ...more] = await receipts();
    expect(more).toEqual([]);
    expect(receipt).toMatchObject({ type: 'uploads-aborted', count: 3, outcome: { s3: 'aborted' } });
    expect((receipt!.uploads as { key: string }[]).map((u) => u.key).sort()).toEqual([...orphans].sort());
    expect(await redis.exists(keys.orphanUploadsJournal())).toBe(0);

    // Idempotent: nothing left to abort, no second receipt.
    const again = await run(now);
    expect(again.result.deleted).toBe(0);
    expect(await receipts()).toHaveLength(1);
  });

  it('finishes a batch a killed run journalled: aborts what is left, one receipt for the whole batch', async () => {
    const before = (await receipts()).length;
    const ks = [key('crash'), key('crash')];
    const ids: string[] = [];
    for (const k of ks) ids.push((await store.createMultipartUpload(k)).storeUploadId);
    // The dead run journalled both and aborted the first before it died.
    const journal = {
      entryId: '00000000-0000-4000-8000-000000000001',
      uploads: ks.map((k, i) => ({ key: k, uploadId: ids[i]!, initiated: new Date().toISOString() })),
    };
    await redis.set(keys.orphanUploadsJournal(), JSON.stringify(journal));
    expect(await store.abortMultipartUpload(ks[0]!, ids[0]!)).toBe('aborted');

    // A "now" at which nothing else is old: only the journal's batch is done.
    const { result } = await run(new Date());
    expect(result.deleted).toBe(2);
    const left = (await listed()).map((u) => u.key);
    for (const k of ks) expect(left).not.toContain(k);
    const written = (await receipts()).slice(before);
    expect(written).toHaveLength(1);
    expect((written[0]!.uploads as { key: string }[]).map((u) => u.key)).toEqual(ks);
    expect(await redis.exists(keys.orphanUploadsJournal())).toBe(0);

    // The same journal replayed (the receipt was written but the journal's deletion was lost): no second receipt.
    await redis.set(keys.orphanUploadsJournal(), JSON.stringify(journal));
    await run(new Date());
    expect((await receipts()).slice(before)).toHaveLength(1);
  });

  it('does nothing once the run is aborted', async () => {
    const k = key('stopped');
    await store.createMultipartUpload(k);
    const controller = new AbortController();
    controller.abort();
    const { result, taken } = await run(new Date(Date.now() + AGE_MS + 60_000), controller.signal);
    expect(result.deleted).toBe(0);
    expect(taken).toEqual([]);
    expect((await listed()).map((u) => u.key)).toContain(k);
  });
});
