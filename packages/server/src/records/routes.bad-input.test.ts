import { MAX_RECORD_BYTES, MAX_RECORD_ENVELOPE_CHARS, MAX_RECORD_VERSION_BODY_BYTES } from '@conduit/shared';
import type { RecordVersion } from '@conduit/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { itRefusesAll, type Call, type RefusalCase } from '../testing/http.js';
import { devices, hex, useRecordsFixture } from '../testing/records-fixture.js';

// Refusals of the records routes; the fixture (real Redis and s3rver) is in testing/records-fixture.ts.
const { call, ok, tokens, groupId, objects, upload, versionsPath, writeBody, putOk } = useRecordsFixture();

describe('bad input to every records route', () => {
  let recordId: string;
  let head: RecordVersion;
  let bigObjectId: string;

  beforeAll(async () => {
    recordId = hex();
    head = (await putOk(recordId, { parentVersionId: null })).version;
    bigObjectId = await upload(tokens.alice, groupId, Buffer.alloc(2 * MAX_RECORD_BYTES + 1));
  });

  const post = (body: unknown, over: Partial<Call> = {}): Call => ({
    method: 'POST',
    path: versionsPath(recordId),
    token: tokens.alice,
    device: devices.alice1,
    body,
    ...over,
  });
  const valid = () => writeBody({ parentVersionId: head.versionId });

  const cases: RefusalCase[] = [
    // POST .../versions
    ['write: missing auth', () => post(valid(), { token: '' }), 401, 'UNAUTHENTICATED'],
    ['write: non-member', () => post(valid(), { token: tokens.carol, device: devices.carol1 }), 404, 'GROUP_NOT_FOUND'],
    ['write: malformed device header', () => post(valid(), { device: 'x' }), 400, 'VALIDATION_FAILED'],
    ["write: another user's device in the header", () => post(valid(), { device: devices.bob1 }), 403, 'FORBIDDEN'],
    ['write: unknown group', () => post(valid(), { path: versionsPath(recordId, hex()) }), 404, 'GROUP_NOT_FOUND'],
    ['write: bad group id', () => post(valid(), { path: versionsPath(recordId, 'G1') }), 400, 'VALIDATION_FAILED'],
    ['write: bad record id', () => post(valid(), { path: versionsPath('rec-1') }), 400, 'VALIDATION_FAILED'],
    ['write: bad version id', () => post({ ...valid(), versionId: 'v1' }), 400, 'VALIDATION_FAILED'],
    ['write: bad parent id', () => post({ ...valid(), parentVersionId: 'ABC' }), 400, 'VALIDATION_FAILED'],
    ['write: missing parent', () => post({ ...valid(), parentVersionId: undefined }), 400, 'VALIDATION_FAILED'],
    ['write: bad pointer id', () => post({ ...valid(), pointerId: 7 }), 400, 'VALIDATION_FAILED'],
    ['write: deleted not boolean', () => post({ ...valid(), deleted: 'no' }), 400, 'VALIDATION_FAILED'],
    ['write: unknown field', () => post({ ...valid(), seq: 1 }), 400, 'VALIDATION_FAILED'],
    ['write: envelope not base64', () => post({ ...valid(), envelope: 'not base64!' }), 400, 'VALIDATION_FAILED'],
    ['write: empty envelope', () => post({ ...valid(), envelope: '' }), 400, 'VALIDATION_FAILED'],
    [
      'write: envelope too long',
      () => post({ ...valid(), envelope: 'A'.repeat(MAX_RECORD_ENVELOPE_CHARS + 4) }),
      400,
      'VALIDATION_FAILED',
    ],
    ['write: tombstone with an object', () => post({ ...valid(), deleted: true }), 400, 'VALIDATION_FAILED'],
    ['write: absent object', () => post({ ...valid(), objectId: hex() }), 404, 'NOT_FOUND'],
    ["write: another group's object", () => post({ ...valid(), objectId: objects.carolsObjectId }), 404, 'NOT_FOUND'],
    ['write: object too large', () => post({ ...valid(), objectId: bigObjectId }), 400, 'VALIDATION_FAILED'],
    ['write: malformed JSON', () => post('{"versionId":'), 400, 'VALIDATION_FAILED'],
    ['write: not JSON', () => post('x', { contentType: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'write: body too large',
      () => post({ ...valid(), pad: 'x'.repeat(MAX_RECORD_VERSION_BODY_BYTES) }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'versions: wrong method',
      () => ({ method: 'DELETE', path: versionsPath(recordId), token: tokens.alice }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    // GET .../versions
    ['history: missing auth', () => ({ path: versionsPath(recordId) }), 401, 'UNAUTHENTICATED'],
    ['history: non-member', () => ({ path: versionsPath(recordId), token: tokens.carol }), 404, 'GROUP_NOT_FOUND'],
    ['history: unknown record', () => ({ path: versionsPath(hex()), token: tokens.bob }), 404, 'RECORD_NOT_FOUND'],
    ['history: bad record id', () => ({ path: versionsPath('x'), token: tokens.bob }), 400, 'VALIDATION_FAILED'],
    // GET .../records/:recordId
    ['head: missing auth', () => ({ path: `/v1/groups/${groupId}/records/${recordId}` }), 401, 'UNAUTHENTICATED'],
    [
      'head: non-member',
      () => ({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.carol }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'head: unknown record',
      () => ({ path: `/v1/groups/${groupId}/records/${hex()}`, token: tokens.bob }),
      404,
      'RECORD_NOT_FOUND',
    ],
    [
      'head: unknown group',
      () => ({ path: `/v1/groups/${hex()}/records/${recordId}`, token: tokens.bob }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'head: bad record id',
      () => ({ path: `/v1/groups/${groupId}/records/${recordId}x`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'head: wrong method',
      () => ({ method: 'PUT', path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.bob }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    // GET .../feed/:afterSeq
    ['feed: missing auth', () => ({ path: `/v1/groups/${groupId}/feed/0` }), 401, 'UNAUTHENTICATED'],
    ['feed: non-member', () => ({ path: `/v1/groups/${groupId}/feed/0`, token: tokens.carol }), 404, 'GROUP_NOT_FOUND'],
    ['feed: unknown group', () => ({ path: `/v1/groups/${hex()}/feed/0`, token: tokens.bob }), 404, 'GROUP_NOT_FOUND'],
    [
      'feed: negative seq',
      () => ({ path: `/v1/groups/${groupId}/feed/-1`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'feed: fractional seq',
      () => ({ path: `/v1/groups/${groupId}/feed/1.5`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'feed: not a number',
      () => ({ path: `/v1/groups/${groupId}/feed/abc`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'feed: beyond safe integers',
      () => ({ path: `/v1/groups/${groupId}/feed/${'9'.repeat(20)}`, token: tokens.bob }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'feed: wrong method',
      () => ({ method: 'POST', path: `/v1/groups/${groupId}/feed/0`, token: tokens.bob }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
  ];

  itRefusesAll(call, cases);

  it('nothing refused above changed the record', async () => {
    const now = await ok<RecordVersion>({ path: `/v1/groups/${groupId}/records/${recordId}`, token: tokens.alice });
    expect(now).toEqual(head);
  });
});
