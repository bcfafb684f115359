import { FEED_PAGE_SIZE, MAX_RECORD_ENVELOPE_CHARS } from '@conduit/shared';
import type { FeedPage, RecordBatchResult, RecordVersion } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { FEED_PAGE_MAX_BYTES } from './record-service.js';
import { OBJECT_BYTES, devices, hex, useRecordsFixture, users } from '../testing/records-fixture.js';

// GET /v1/groups/:groupId/feed/:afterSeq; the fixture (real Redis and s3rver) is in testing/records-fixture.ts.
const { ok, tokens, upload, writeBody } = useRecordsFixture();

/** A group of its own, so its feed holds exactly what the test writes. */
async function newGroup(): Promise<string> {
  const groupId = hex();
  await ok({ method: 'POST', path: '/v1/groups', token: tokens.alice, body: { groupId, members: [users.bob] } }, 201);
  return groupId;
}

/** Writes `count` new records through the batch route, `perBatch` at a time. */
async function writeMany(
  groupId: string,
  count: number,
  perBatch: number,
  body: (i: number) => ReturnType<typeof writeBody>,
): Promise<RecordVersion[]> {
  const written: RecordVersion[] = [];
  for (let i = 0; i < count; i += perBatch) {
    const versions = Array.from({ length: Math.min(perBatch, count - i) }, (_, j) => ({
      recordId: hex(),
      ...body(i + j),
    }));
    const { results } = await ok<RecordBatchResult>({
      method: 'POST',
      path: `/v1/groups/${groupId}/record-versions`,
      token: tokens.alice,
      device: devices.alice1,
      body: { versions },
    });
    for (const r of results) {
      if (r.status !== 'created') throw new Error(JSON.stringify(r));
      written.push(r.version);
    }
  }
  return written;
}

const page = (groupId: string, afterSeq: number) =>
  ok<FeedPage>({ path: `/v1/groups/${groupId}/feed/${afterSeq}`, token: tokens.bob });

describe('the feed', () => {
  it(`pages over more than ${FEED_PAGE_SIZE} versions in order, presigning only versions with an object`, async () => {
    const groupId = await newGroup();
    const objectId = await upload(tokens.alice, groupId, OBJECT_BYTES);
    const total = FEED_PAGE_SIZE + 23;
    // Inline values, tombstones, and an object every 10th version.
    const written = await writeMany(groupId, total, 100, (i) =>
      i % 10 === 0
        ? writeBody({ parentVersionId: null, objectId })
        : writeBody({ parentVersionId: null, objectId: null, deleted: i % 2 === 0 }),
    );

    const first = await page(groupId, 0);
    expect(first.entries).toHaveLength(FEED_PAGE_SIZE);
    expect(first.next).toBe(FEED_PAGE_SIZE);
    const second = await page(groupId, first.next!);
    expect(second.entries).toHaveLength(total - FEED_PAGE_SIZE);
    expect(second.next).toBeNull();

    const entries = [...first.entries, ...second.entries];
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const bySeq = new Map(written.map((v) => [v.seq, v]));
    for (const { download, ...version } of entries) {
      expect(version).toEqual(bySeq.get(version.seq));
      expect(download === null).toBe(version.objectId === null);
    }
    expect(entries.filter((e) => e.objectId === null && !e.deleted).length).toBeGreaterThan(400);
    const withObject = entries.find((e) => e.download !== null)!;
    const res = await fetch(withObject.download!.url, { headers: withObject.download!.headers });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(OBJECT_BYTES);

    const tail = await page(groupId, total - 1);
    expect(tail.entries.map((e) => e.seq)).toEqual([total]);
    expect(tail.next).toBeNull();
    expect(await page(groupId, total)).toEqual({ entries: [], next: null });
  });

  it('stops a page at its byte budget: large envelopes make shorter pages, with nothing skipped', async () => {
    const groupId = await newGroup();
    const envelope = 'A'.repeat(MAX_RECORD_ENVELOPE_CHARS);
    const total = Math.ceil(FEED_PAGE_MAX_BYTES / MAX_RECORD_ENVELOPE_CHARS) + 20;
    // 16 KiB envelopes: 50 of them per request stay under the batch body limit.
    await writeMany(groupId, total, 50, () => writeBody({ parentVersionId: null, objectId: null, envelope }));

    const seqs: number[] = [];
    let after = 0;
    let pages = 0;
    for (;;) {
      const p = await page(groupId, after);
      pages += 1;
      const bytes = p.entries.reduce((sum, e) => sum + e.envelope.length, 0);
      expect(bytes).toBeLessThanOrEqual(FEED_PAGE_MAX_BYTES);
      seqs.push(...p.entries.map((e) => e.seq));
      if (p.next === null) break;
      expect(p.entries.length).toBeLessThan(FEED_PAGE_SIZE);
      expect(p.next).toBe(p.entries.at(-1)!.seq);
      after = p.next;
    }
    expect(pages).toBe(2);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});
