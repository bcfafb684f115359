import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client as opaqueClient, ready as opaqueReady } from '@serenity-kit/opaque';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hex, sleep, startParts, until, type Parts } from './harness.js';
import { World, type Endpoint } from './world.js';

// Redis dies (SIGKILL: connections refused) or freezes (SIGSTOP: connections open, no answers)
// under load: every API route must answer 503 DEPENDENCY_UNAVAILABLE with Retry-After, promptly
// (a route waiting on Redis forever fails the per-request deadline), and work again once Redis
// is back. The Redis is this file's own, on a free port.
const ANSWER_WITHIN_MS = 9_000;

let dir: string;
let parts: Parts;
let world: World;
let groupId: string;
let pointerId: string;

beforeAll(async () => {
  await opaqueReady;
  dir = await mkdtemp(join(tmpdir(), 'conduit-redis-outage-'));
  parts = await startParts(dir);
  world = new World(parts.apiUrl, parts.rest);
  await world.setup();
  const made = await world.group();
  groupId = made.groupId;
  pointerId = (await world.pointers(groupId, made.objectId, 1))[0]!;
}, 60_000);

afterAll(async () => {
  parts?.redis.proc.signal('SIGCONT');
  await parts?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Route {
  method: string;
  path: string;
  /** Omitted: the API's own session of the sender. */
  anonymous?: boolean;
  body?: unknown;
}

/** Every /v1 route, each with a request that passes validation (so it reaches Redis). */
function routes(): Route[] {
  const [id, up, rec] = [hex(), hex(), hex()];
  const g = `/v1/groups/${groupId}`;
  const password = 'not-the-password-1';
  const credentials = { identity: 'alice', password };
  return [
    {
      method: 'POST',
      path: '/v1/auth/opaque/register/start',
      anonymous: true,
      body: {
        identity: `u${id.slice(0, 12)}`,
        registrationRequest: opaqueClient.startRegistration({ password }).registrationRequest,
      },
    },
    {
      method: 'POST',
      path: '/v1/auth/opaque/login/start',
      anonymous: true,
      body: { identity: 'alice', startLoginRequest: opaqueClient.startLogin({ password }).startLoginRequest },
    },
    { method: 'POST', path: '/v1/auth/login', anonymous: true, body: { ...credentials, deviceId: 'alice-phone' } },
    { method: 'GET', path: '/v1/devices' },
    { method: 'PUT', path: '/v1/devices/alice-phone' },
    { method: 'DELETE', path: '/v1/devices/alice-other' },
    { method: 'GET', path: '/v1/tokens/virgil' },
    { method: 'GET', path: '/v1/tokens/sync' },
    { method: 'POST', path: '/v1/groups', body: { groupId: id, members: [] } },
    { method: 'GET', path: '/v1/groups' },
    { method: 'GET', path: g },
    { method: 'POST', path: `${g}/members`, body: { members: ['bob'] } },
    { method: 'DELETE', path: `${g}/members/carol` },
    { method: 'POST', path: `${g}/objects`, body: { size: 10 } },
    { method: 'GET', path: `${g}/objects/${id}` },
    { method: 'POST', path: `${g}/uploads`, body: { size: 10 } },
    { method: 'GET', path: `${g}/uploads/${up}` },
    { method: 'DELETE', path: `${g}/uploads/${up}` },
    { method: 'POST', path: `${g}/uploads/${up}/parts`, body: { parts: [{ partNumber: 1, size: 10 }] } },
    { method: 'POST', path: `${g}/uploads/${up}/complete`, body: { parts: [{ partNumber: 1, etag: '"e"' }] } },
    { method: 'POST', path: `${g}/pointers`, body: { pointerId: id, objectId: id } },
    { method: 'POST', path: `/v1/pointers/${pointerId}/ack` },
    { method: 'GET', path: `/v1/pointers/${pointerId}` },
    { method: 'GET', path: `${g}/records/${rec}` },
    { method: 'GET', path: `${g}/records/${rec}/versions` },
    {
      method: 'POST',
      path: `${g}/records/${rec}/versions`,
      body: { versionId: id, parentVersionId: null, pointerId: id, objectId: null, deleted: true, envelope: {} },
    },
    { method: 'GET', path: `${g}/feed/0` },
    { method: 'POST', path: `${g}/anomalies`, body: { pointerId: id, kind: 'vanished', code: 'POINTER_NOT_FOUND' } },
    { method: 'GET', path: `${g}/members/bob/devices` },
    { method: 'POST', path: `${g}/sync` },
    { method: 'PUT', path: `${g}/name`, body: { sealedName: 'AAAA' } },
    { method: 'PUT', path: '/v1/devices/alice-phone/name', body: { sealedName: 'AAAA' } },
    { method: 'PUT', path: '/v1/identities/me/key-transitions', body: { statement: '{}', signature: 'AAAA' } },
    { method: 'GET', path: '/v1/identities/bob/key-transitions' },
    {
      method: 'POST',
      path: '/v1/auth/opaque/login/finish',
      anonymous: true,
      body: { loginId: id, finishLoginRequest: 'AAAA', deviceId: 'alice-phone' },
    },
    { method: 'GET', path: '/v1/admin/audit' },
  ];
}

interface Answer {
  route: string;
  status: number;
  code?: string;
  retryAfter: string | null;
  ms: number;
}

async function hit(route: Route, who: Endpoint = world.sender): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (!route.anonymous) {
    headers.authorization = `Bearer ${world.tokens.get(`${who.identity}:${who.deviceId}`)}`;
    headers['conduit-device'] = who.deviceId;
  }
  if (route.body !== undefined) headers['content-type'] = 'application/json';
  const started = Date.now();
  const res = await fetch(parts.apiUrl + route.path, {
    method: route.method,
    headers,
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    ...(route.body !== undefined ? { body: JSON.stringify(route.body) } : {}),
  });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    // NDJSON (the audit route) or empty
  }
  return {
    route: `${route.method} ${route.path}`,
    status: res.status,
    ...(code ? { code } : {}),
    retryAfter: res.headers.get('retry-after'),
    ms: Date.now() - started,
  };
}

/** Every route `rounds` times, all at once. */
const sweep = (rounds: number) => Promise.all(Array.from({ length: rounds }, () => routes().map((r) => hit(r))).flat());

/** Keeps every route busy until `stop` resolves; returns every answer seen. */
async function load(stop: Promise<void>): Promise<Answer[]> {
  const answers: Answer[] = [];
  let done = false;
  void stop.then(() => (done = true));
  const loop = async (route: Route) => {
    while (!done) answers.push(await hit(route));
  };
  await Promise.all(routes().map(loop));
  return answers;
}

function expectOutageAnswers(answers: Answer[]): void {
  const wrong = answers.filter(
    (a) => a.status !== 503 || a.code !== 'DEPENDENCY_UNAVAILABLE' || !/^[1-9][0-9]*$/.test(a.retryAfter ?? ''),
  );
  expect(wrong, JSON.stringify(wrong.slice(0, 5))).toEqual([]);
}

/** Back means: no route answers 5xx (most answer 2xx or their own 4xx). */
async function expectRecovered(): Promise<void> {
  await until(
    'the API to answer without 5xx',
    async () => ((await sweep(1)).every((a) => a.status < 500) ? true : undefined),
    20_000,
  );
  const answers = await sweep(1);
  expect(answers.filter((a) => a.status >= 500)).toEqual([]);
  expect((await hit({ method: 'GET', path: '/v1/devices' })).status).toBe(200);
}

describe('a Redis outage', () => {
  it('answers 503 with Retry-After on every route while Redis is killed, then recovers', async () => {
    let outage!: () => void;
    const loaded = load(new Promise<void>((resolve) => (outage = resolve)));
    await sleep(300);
    await parts.redis.proc.stop('SIGKILL');
    // Requests in flight at the kill may fail either way; afterwards every one is a 503.
    await sleep(500);
    outage();
    const during = await loaded;
    expect(during.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    expectOutageAnswers(await sweep(3));

    await parts.redis.start();
    await expectRecovered();
  }, 90_000);

  it('answers 503 with Retry-After within the deadline while Redis is frozen, then recovers', async () => {
    parts.redis.proc.signal('SIGSTOP');
    try {
      const answers = await sweep(2);
      expectOutageAnswers(answers);
    } finally {
      parts.redis.proc.signal('SIGCONT');
    }
    await expectRecovered();
  }, 90_000);
});
