import { randomBytes } from 'node:crypto';
import { MAX_PART_BYTES, MAX_PARTS_PER_REQUEST } from '@conduit/shared';
import type { ErrorCode, MultipartUpload } from '@conduit/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../testing/http.js';
import { PART, devices, hex, putPart, useUploadsFixture } from '../testing/uploads-fixture.js';

// Refusals of the multipart upload routes; the fixture is in testing/uploads-fixture.ts.
const { call, ok, tokens, asAlice, otherGroupId, uploads, createUpload, presign, startedUpload } = useUploadsFixture();

describe('multipart upload input is refused with typed errors', () => {
  let upload: MultipartUpload;
  let etag1: string;

  beforeAll(async () => {
    ({ upload, etag1 } = await startedUpload());
  });

  type Case = [name: string, call: () => Call, status: number, code: ErrorCode];
  const at = (suffix = '') => `${uploads()}/${upload.uploadId}${suffix}`;
  const body = (parts: unknown) => ({ parts });
  const complete = (parts: unknown): Call => ({ method: 'POST', path: at('/complete'), ...asAlice, body: body(parts) });
  const presignCall = (parts: unknown): Call => ({ method: 'POST', path: at('/parts'), ...asAlice, body: body(parts) });

  const cases: Case[] = [
    // POST /uploads
    ['create: no auth', () => ({ method: 'POST', path: uploads(), body: { size: 1 } }), 401, 'UNAUTHENTICATED'],
    [
      'create: bad group id',
      () => ({ method: 'POST', path: uploads('XYZ'), ...asAlice, body: { size: 1 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'create: unknown group',
      () => ({ method: 'POST', path: uploads(hex()), ...asAlice, body: { size: 1 } }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'create: non-member',
      () => ({ method: 'POST', path: uploads(), token: tokens.carol, device: devices.carol1, body: { size: 1 } }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'create: malformed device header',
      () => ({ method: 'POST', path: uploads(), token: tokens.alice, device: 'x', body: { size: 1 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'create: device of another identity in the header',
      () => ({ method: 'POST', path: uploads(), token: tokens.alice, device: devices.bob1, body: { size: 1 } }),
      403,
      'FORBIDDEN',
    ],
    [
      'create: size 0',
      () => ({ method: 'POST', path: uploads(), ...asAlice, body: { size: 0 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'create: size over 5 TiB',
      () => ({ method: 'POST', path: uploads(), ...asAlice, body: { size: 5 * 1024 ** 4 + 1 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'create: extra field',
      () => ({ method: 'POST', path: uploads(), ...asAlice, body: { size: 1, key: 'k' } }),
      400,
      'VALIDATION_FAILED',
    ],
    ['create: wrong method', () => ({ method: 'PUT', path: uploads(), ...asAlice }), 405, 'METHOD_NOT_ALLOWED'],
    // GET /uploads/:uploadId
    [
      'get: bad upload id',
      () => ({ path: `${uploads()}/${upload.uploadId.toUpperCase()}`, ...asAlice }),
      400,
      'VALIDATION_FAILED',
    ],
    ['get: unknown upload', () => ({ path: `${uploads()}/${hex()}`, ...asAlice }), 404, 'NOT_FOUND'],
    [
      'get: upload of another group',
      () => ({ path: `${uploads(otherGroupId)}/${upload.uploadId}`, ...asAlice }),
      404,
      'NOT_FOUND',
    ],
    ['get: another member', () => ({ path: at(), token: tokens.bob, device: devices.bob1 }), 403, 'FORBIDDEN'],
    [
      'get: same identity, other device',
      () => ({ path: at(), token: tokens.alice2, device: devices.alice2 }),
      403,
      'FORBIDDEN',
    ],
    ['get: non-member', () => ({ path: at(), token: tokens.carol, device: devices.carol1 }), 404, 'GROUP_NOT_FOUND'],
    // POST /uploads/:uploadId/parts
    [
      'parts: part over 5 GiB',
      () => presignCall([{ partNumber: 2, size: MAX_PART_BYTES + 1 }]),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'parts: too many per request',
      () => presignCall(Array.from({ length: MAX_PARTS_PER_REQUEST + 1 }, (_, i) => ({ partNumber: i + 1, size: 1 }))),
      400,
      'VALIDATION_FAILED',
    ],
    ['parts: none', () => presignCall([]), 400, 'VALIDATION_FAILED'],
    ['parts: part number 0', () => presignCall([{ partNumber: 0, size: 1 }]), 400, 'VALIDATION_FAILED'],
    ['parts: part number 10001', () => presignCall([{ partNumber: 10_001, size: 1 }]), 400, 'VALIDATION_FAILED'],
    ['parts: size 0', () => presignCall([{ partNumber: 2, size: 0 }]), 400, 'VALIDATION_FAILED'],
    [
      'parts: duplicate part numbers',
      () =>
        presignCall([
          { partNumber: 2, size: 1 },
          { partNumber: 2, size: 1 },
        ]),
      400,
      'VALIDATION_FAILED',
    ],
    // Part 1 already holds PART + 42 of PART + 1042 bytes.
    ['parts: sum over the size', () => presignCall([{ partNumber: 2, size: 1001 }]), 400, 'VALIDATION_FAILED'],
    ['parts: one part over the size', () => presignCall([{ partNumber: 3, size: PART * 2 }]), 400, 'VALIDATION_FAILED'],
    [
      'parts: another member',
      () => ({ ...presignCall([{ partNumber: 2, size: 1 }]), token: tokens.bob, device: devices.bob1 }),
      403,
      'FORBIDDEN',
    ],
    [
      'parts: unknown upload',
      () => ({ ...presignCall([{ partNumber: 2, size: 1 }]), path: `${uploads()}/${hex()}/parts` }),
      404,
      'NOT_FOUND',
    ],
    ['parts: not JSON', () => ({ ...presignCall([]), body: '{' }), 400, 'VALIDATION_FAILED'],
    // POST /uploads/:uploadId/complete
    [
      'complete: a part never presigned',
      () =>
        complete([
          { partNumber: 1, etag: 'a' },
          { partNumber: 2, etag: 'b' },
        ]),
      400,
      'VALIDATION_FAILED',
    ],
    ['complete: missing the last part', () => complete([{ partNumber: 1, etag: 'a' }]), 400, 'VALIDATION_FAILED'],
    [
      'complete: descending',
      () =>
        complete([
          { partNumber: 2, etag: 'b' },
          { partNumber: 1, etag: 'a' },
        ]),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'complete: duplicate',
      () =>
        complete([
          { partNumber: 1, etag: 'a' },
          { partNumber: 1, etag: 'a' },
        ]),
      400,
      'VALIDATION_FAILED',
    ],
    ['complete: empty etag', () => complete([{ partNumber: 1, etag: '' }]), 400, 'VALIDATION_FAILED'],
    ['complete: no parts', () => complete([]), 400, 'VALIDATION_FAILED'],
    [
      'complete: another member',
      () => ({ ...complete([{ partNumber: 1, etag: 'a' }]), token: tokens.bob, device: devices.bob1 }),
      403,
      'FORBIDDEN',
    ],
    [
      'complete: unknown upload',
      () => ({ ...complete([{ partNumber: 1, etag: 'a' }]), path: `${uploads()}/${hex()}/complete` }),
      404,
      'NOT_FOUND',
    ],
    ['complete: wrong method', () => ({ path: at('/complete'), ...asAlice }), 405, 'METHOD_NOT_ALLOWED'],
    // DELETE /uploads/:uploadId
    [
      'abort: another member',
      () => ({ method: 'DELETE', path: at(), token: tokens.bob, device: devices.bob1 }),
      403,
      'FORBIDDEN',
    ],
    [
      'abort: other device',
      () => ({ method: 'DELETE', path: at(), token: tokens.alice2, device: devices.alice2 }),
      403,
      'FORBIDDEN',
    ],
    [
      'abort: non-member',
      () => ({ method: 'DELETE', path: at(), token: tokens.carol, device: devices.carol1 }),
      404,
      'GROUP_NOT_FOUND',
    ],
    [
      'abort: bad upload id',
      () => ({ method: 'DELETE', path: `${uploads()}/nope`, ...asAlice }),
      400,
      'VALIDATION_FAILED',
    ],
  ];

  it.each(cases)('%s', async (_name, make, status, code) => {
    const res = await call(make());
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toMatchObject({ error: { code } });
  });

  it('a small part before the last is refused before S3 sees it', async () => {
    const small = await createUpload(2000);
    await presign(small.uploadId, [
      { partNumber: 1, size: 1000 },
      { partNumber: 2, size: 1000 },
    ]);
    const res = await call({
      method: 'POST',
      path: `${uploads()}/${small.uploadId}/complete`,
      ...asAlice,
      body: {
        parts: [
          { partNumber: 1, etag: 'a' },
          { partNumber: 2, etag: 'b' },
        ],
      },
    });
    expect(res.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { partNumbers: [1] } } });
  });

  it('none of the refusals changed the upload: it still completes', async () => {
    const part2 = randomBytes(1000);
    const signed = await presign(upload.uploadId, [{ partNumber: 2, size: 1000 }]);
    const etag2 = await putPart(signed.parts[0]!.url, signed.parts[0]!.headers, part2);
    const done = await ok(
      complete([
        { partNumber: 1, etag: etag1 },
        { partNumber: 2, etag: etag2 },
      ]),
    );
    expect(done).toEqual({ objectId: upload.objectId, size: upload.size });
  });

  it('an unknown upload aborts as a no-op', async () => {
    await ok({ method: 'DELETE', path: `${uploads()}/${hex()}`, ...asAlice }, 204);
  });
});
