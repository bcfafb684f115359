import {
  MAX_RECORD_BATCH_BODY_BYTES,
  MAX_RECORD_BATCH_ITEMS,
  MAX_RECORD_BYTES,
  MAX_RECORD_ENVELOPE_CHARS,
  parseFeedNotification,
} from '@conduit/shared';
import type { RecordBatchItemResult, RecordBatchResult, RecordVersion } from '@conduit/shared';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { itRefusesAll, type Call, type RefusalCase } from '../testing/http.js';
import {
  ENVELOPE,
  OBJECT_BYTES,
  devices,
  hex,
  useRecordsFixture,
  users,
  type Write,
} from '../testing/records-fixture.js';

// POST /v1/groups/:groupId/record-versions; the fixture (real Redis and s3rver) is in testing/records-fixture.ts.
const { call, ok, tokens, groupId, objects, upload, writeBody, putOk, syncAdmin } = useRecordsFixture();

const batchPath = (group = groupId) => `/v1/groups/${group}/record-versions`;
const item = (recordId: string, w: Write) => ({ recordId, ...writeBody(w) });
type Item = ReturnType<typeof item>;
const batch = (versions: unknown[], over: Partial<Call> = {}): Call => ({
  method: 'POST',
  path: batchPath(),
  token: tokens.alice,
  device: devices.alice1,
  body: { versions },
  ...over,
});
const results = async (versions: Item[]) => (await ok<RecordBatchResult>(batch(versions))).results;
const versionOf = (r: RecordBatchItemResult | undefined): RecordVersion => {
  if (r?.status !== 'created' && r?.status !== 'existing') throw new Error(`not written: ${JSON.stringify(r)}`);
  return r.version;
};
const headOf = (recordId: string) => call({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.bob });
/** The group's one Sync item for records, once the notifier wrote it (after the response). */
const feedItemSeq = () =>
  vi.waitFor(
    () => {
      const item = syncAdmin.items.get(`g_${groupId}/feed`);
      if (!item) throw new Error('no feed notification yet');
      return parseFeedNotification(item.data).seq;
    },
    { timeout: 5_000, interval: 20 },
  );

describe('batch writes', () => {
  it('appends in request order: a record twice (the second on the first), inline, tombstone; retried as existing', async () => {
    const [a, b, c] = [hex(), hex(), hex()];
    const first = item(a, { parentVersionId: null });
    const versions = [
      first,
      item(a, { parentVersionId: first.versionId, objectId: null }),
      item(b, { parentVersionId: null, objectId: null }),
      item(c, { parentVersionId: null, objectId: null, deleted: true }),
    ];
    const written = await results(versions);
    expect(written.map((r) => r.status)).toEqual(['created', 'created', 'created', 'created']);
    const stored = written.map(versionOf);
    expect(stored.map((v) => v.versionId)).toEqual(versions.map((v) => v.versionId));
    expect(stored.map((v) => v.seq)).toEqual([1, 2, 3, 4].map((i) => stored[0]!.seq + i - 1));
    expect(stored[0]).toMatchObject({ recordId: a, objectId: objects.objectId, size: OBJECT_BYTES.length });
    expect(stored[1]).toMatchObject({ recordId: a, parentVersionId: first.versionId, objectId: null, size: 0 });
    expect(stored[3]).toMatchObject({ recordId: c, deleted: true, objectId: null });
    expect(stored.every((v) => v.envelope === ENVELOPE)).toBe(true);
    expect(stored.every((v) => v.sender.identity === users.alice && v.sender.deviceId === devices.alice1)).toBe(true);
    expect((await headOf(a)).body).toEqual(stored[1]);

    // A lost response retried: the same versions, nothing appended twice.
    const again = await results(versions);
    expect(again).toEqual(stored.map((version) => ({ status: 'existing', version })));
    // The feed notification carries the feed's last seq (nothing else wrote to this group since).
    await vi.waitFor(async () => expect(await feedItemSeq()).toBe(stored[3]!.seq), { timeout: 5_000 });
    // Records are not pointers: nothing in the ack ledger, no per-version Sync item.
    expect((await call({ path: `/v1/pointers/${first.pointerId}`, token: tokens.alice })).status).toBe(404);
    expect(syncAdmin.items.has(`g_${groupId}/${first.pointerId}`)).toBe(false);
  });

  it('answers each item on its own, in request order: conflict, pointer taken, missing or too large object', async () => {
    const bigObjectId = await upload(tokens.alice, groupId, Buffer.alloc(2 * MAX_RECORD_BYTES + 1));
    const existing = await putOk(hex(), { parentVersionId: null });
    const stale = hex();
    const v1 = await putOk(stale, { parentVersionId: null });
    const v2 = await putOk(stale, { parentVersionId: v1.version.versionId });
    const fine = item(hex(), { parentVersionId: null });
    const [missing, foreign, tooLarge, taken] = [hex(), hex(), hex(), hex()];
    const answered = await results([
      item(stale, { parentVersionId: v1.version.versionId }),
      item(taken, { parentVersionId: null, pointerId: existing.version.pointerId }),
      item(missing, { parentVersionId: null, objectId: hex() }),
      item(foreign, { parentVersionId: null, objectId: objects.carolsObjectId }),
      item(tooLarge, { parentVersionId: null, objectId: bigObjectId }),
      fine,
    ]);
    expect(answered.slice(0, 5)).toEqual([
      { status: 'conflict', head: v2.version },
      { status: 'failed', code: 'POINTER_EXISTS', message: expect.any(String) },
      { status: 'failed', code: 'NOT_FOUND', message: expect.any(String) },
      { status: 'failed', code: 'NOT_FOUND', message: expect.any(String) },
      { status: 'failed', code: 'VALIDATION_FAILED', message: expect.stringContaining('at most') },
    ]);
    expect(versionOf(answered[5])).toMatchObject({ versionId: fine.versionId, parentVersionId: null });
    for (const recordId of [missing, foreign, tooLarge, taken]) expect((await headOf(recordId)).status).toBe(404);
    expect((await headOf(stale)).body).toEqual(v2.version);
  });

  it(`takes ${MAX_RECORD_BATCH_ITEMS} versions in one request`, async () => {
    const versions = Array.from({ length: MAX_RECORD_BATCH_ITEMS }, () =>
      item(hex(), { parentVersionId: null, objectId: null }),
    );
    const written = (await results(versions)).map(versionOf);
    expect(new Set(written.map((v) => v.seq)).size).toBe(MAX_RECORD_BATCH_ITEMS);
    expect(written.map((v) => v.seq)).toEqual([...written.map((v) => v.seq)].sort((x, y) => x - y));
  });
});

describe('bad batches', () => {
  let recordId: string;
  let valid: () => Item;
  beforeAll(() => {
    recordId = hex();
    valid = () => item(recordId, { parentVersionId: null, objectId: null });
  });
  const many = (n: number) => Array.from({ length: n }, () => valid());

  const cases: RefusalCase[] = [
    ['missing auth', () => batch([valid()], { token: '' }), 401, 'UNAUTHENTICATED'],
    ['outsider', () => batch([valid()], { token: tokens.carol, device: devices.carol1 }), 404, 'GROUP_NOT_FOUND'],
    ['unknown group', () => batch([valid()], { path: batchPath(hex()) }), 404, 'GROUP_NOT_FOUND'],
    ['bad group id', () => batch([valid()], { path: batchPath('G1') }), 400, 'VALIDATION_FAILED'],
    ['malformed device header', () => batch([valid()], { device: 'x' }), 400, 'VALIDATION_FAILED'],
    ["another user's device", () => batch([valid()], { device: devices.bob1 }), 403, 'FORBIDDEN'],
    ['no versions', () => batch([]), 400, 'VALIDATION_FAILED'],
    ['too many versions', () => batch(many(MAX_RECORD_BATCH_ITEMS + 1)), 400, 'VALIDATION_FAILED'],
    ['versions not a list', () => batch({ 0: valid() } as unknown as unknown[]), 400, 'VALIDATION_FAILED'],
    [
      'unknown top-level field',
      () => ({ ...batch([valid()]), body: { versions: [valid()], x: 1 } }),
      400,
      'VALIDATION_FAILED',
    ],
    ['item without record id', () => batch([{ ...valid(), recordId: undefined }]), 400, 'VALIDATION_FAILED'],
    ['item with a bad record id', () => batch([{ ...valid(), recordId: 'r' }]), 400, 'VALIDATION_FAILED'],
    ['item with an unknown field', () => batch([{ ...valid(), seq: 1 }]), 400, 'VALIDATION_FAILED'],
    [
      'tombstone with an object',
      () => batch([{ ...valid(), deleted: true, objectId: objects.objectId }]),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'envelope too long',
      () => batch([{ ...valid(), envelope: 'A'.repeat(MAX_RECORD_ENVELOPE_CHARS + 4) }]),
      400,
      'VALIDATION_FAILED',
    ],
    // One bad item refuses the whole batch, the good ones with it.
    ['one bad item among good ones', () => batch([valid(), { ...valid(), versionId: 'v' }]), 400, 'VALIDATION_FAILED'],
    [
      'body too large',
      () => ({ ...batch([valid()]), body: { versions: [valid()], pad: 'x'.repeat(MAX_RECORD_BATCH_BODY_BYTES) } }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['not JSON', () => ({ ...batch([]), body: 'x', contentType: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['wrong method', () => ({ method: 'GET', path: batchPath(), token: tokens.alice }), 405, 'METHOD_NOT_ALLOWED'],
  ];

  itRefusesAll(call, cases);

  it('nothing refused above was stored', async () => {
    expect((await headOf(recordId)).status).toBe(404);
  });

  it('a body just under the limit is read (the global 16 KiB limit does not apply)', async () => {
    const envelope = 'A'.repeat(MAX_RECORD_ENVELOPE_CHARS);
    const count = Math.floor(MAX_RECORD_BATCH_BODY_BYTES / (MAX_RECORD_ENVELOPE_CHARS + 400));
    const versions = Array.from({ length: count }, () =>
      item(hex(), { parentVersionId: null, objectId: null, envelope }),
    );
    expect(JSON.stringify({ versions }).length).toBeGreaterThan(16 * 1024 * 32);
    expect((await results(versions)).every((r) => r.status === 'created')).toBe(true);
  });
});
