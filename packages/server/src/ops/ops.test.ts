import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { envelopeSha256 } from '@conduit/shared';
import type { Expiring, TokenIssuer } from '@conduit/shared';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.js';
import { createLogger } from '../logger.js';
import { startServer, startWorker, type RunningServer, type RunningWorker } from '../server.js';
import { FakeSyncAdmin, deleteKeys, eventually, randomKeyPrefix, testConfig } from '../testing/fakes.js';
import { runAccountCommand } from './account-commands.js';
import { DeliveryMetrics } from './metrics.js';
import { ensureBucket } from '../testing/s3-bucket.js';

// The API and worker on real Redis and a real s3rver (Sync is a recording fake: its REST side is
// covered by the durability suite), logging at trace level into memory.
const secret = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;

/** Issues unguessable tokens and remembers them, so the test can look for them in the logs. */
class RecordingIssuer implements TokenIssuer {
  readonly issued: string[] = [];
  async issue(): Promise<Expiring<string>> {
    const value = secret('jwt');
    this.issued.push(value);
    return { value, expiresAt: new Date(Date.now() + 600_000) };
  }
}

const prefix = randomKeyPrefix();
const metricsToken = secret('metrics');
const passwords = { alice: secret('pw-alice'), bob: secret('pw-bob'), root: secret('pw-root') };
const logLines: string[] = [];
const capture = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
const virgilTokens = new RecordingIssuer();
const syncTokens = new RecordingIssuer();
const metrics = new DeliveryMetrics({ processMetrics: false });
let s3rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let s3dir: string;
let endpoint: string;
let config: ReturnType<typeof testConfig>;
let server: RunningServer;
let worker: RunningWorker;
const sessionTokens: Record<string, string> = {};
const seen: string[] = [];

async function call(path: string, init: { method?: string; token?: string; device?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.device) headers['conduit-device'] = init.device;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server.url + path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

beforeAll(async () => {
  s3dir = await mkdtemp(join(tmpdir(), 'conduit-ops-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory: s3dir, silent: true });
  endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
  const base = testConfig(prefix);
  config = {
    ...base,
    auth: { mode: 'dev', sessionSecret: secret('session-secret'), legacyRoutes: true },
    twilio: { ...base.twilio, apiKeySecret: secret('twilio-key') },
    s3: {
      bucket: 'ops-test',
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      presignTtlSeconds: 60,
    },
    adminIdentities: ['root'],
    ops: { metricsToken },
    logLevel: 'trace',
  };
  const objectStore = new S3ObjectStore(config.s3);
  await ensureBucket(objectStore.client, config.s3.bucket);
  const logger = createLogger('trace', capture);
  const deps = { objectStore, syncAdmin: new FakeSyncAdmin(), virgilTokens, syncTokens, logger, metrics };
  server = await startServer(config, deps);
  worker = await startWorker(config, deps);
});

afterAll(async () => {
  await worker?.close();
  await server?.close();
  await s3rver?.close();
  await rm(s3dir, { recursive: true, force: true });
  await deleteKeys(prefix);
});

describe('operational endpoints', () => {
  it('answers /healthz without touching dependencies and /readyz with each dependency', async () => {
    expect((await call('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await call('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', ready: true, checks: { redis: 'ok', s3: 'ok', sync: 'ok' } });
  });

  it('reports not ready, naming the dependency, when S3 is gone', async () => {
    const broken = await startServer(
      { ...config, s3: { ...config.s3, endpoint: 'http://127.0.0.1:9' } },
      {
        objectStore: new S3ObjectStore({ ...config.s3, endpoint: 'http://127.0.0.1:9' }),
        syncAdmin: new FakeSyncAdmin(),
        virgilTokens,
        syncTokens,
        logger: createLogger('silent'),
        metrics,
      },
    );
    try {
      const res = await fetch(`${broken.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        status: 'unavailable',
        ready: false,
        checks: { redis: 'ok', s3: 'fail', sync: 'ok' },
      });
      expect((await fetch(`${broken.url}/healthz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('serves Prometheus metrics only with the metrics bearer token', async () => {
    expect((await call('/metrics')).status).toBe(401);
    expect((await call('/metrics', { token: secret('wrong') })).status).toBe(401);
    const res = await call('/metrics', { token: metricsToken });
    expect(res.status).toBe(200);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(res.text).toMatch(new RegExp(`^conduit_purge_queue_jobs\\{state="${state}"\\} \\d+$`, 'm'));
    }
    expect(res.text).toContain('# TYPE conduit_last_ack_to_purge_seconds histogram');
    expect(res.text).toContain('# TYPE conduit_purge_failures_total counter');
  });

  it('counts requests per route pattern, method and status, never per raw path', async () => {
    const id = 'f'.repeat(32);
    const count = async (labels: string) => {
      const text = (await call('/metrics', { token: metricsToken })).text;
      const line = text.split('\n').find((l) => l.startsWith(`conduit_http_request_duration_seconds_count{${labels}}`));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const groupRoute = 'method="GET",route="/v1/groups/:groupId",status="401"';
    const unmatched = 'method="GET",route="unmatched",status="404"';
    const [beforeGroup, beforeUnmatched] = [await count(groupRoute), await count(unmatched)];
    expect((await call(`/v1/groups/${id}`)).status).toBe(401);
    expect((await call(`/v1/groups/${'e'.repeat(32)}`)).status).toBe(401);
    expect((await call(`/v1/no-such-route/${id}`)).status).toBe(404);
    expect(await count(groupRoute)).toBe(beforeGroup + 2);
    expect(await count(unmatched)).toBe(beforeUnmatched + 1);
    const text = (await call('/metrics', { token: metricsToken })).text;
    expect(text).toContain('# TYPE conduit_http_request_duration_seconds histogram');
    expect(text).not.toContain(id);
  });
});

describe('a full request cycle', () => {
  it('delivers a pointer end to end and counts the ack and the purge', async () => {
    const devices = { alice: 'alice-dev-1', bob: 'bob-dev-01', root: 'root-dev-01' };
    for (const identity of ['alice', 'bob', 'root'] as const) {
      const password = passwords[identity];
      const deviceId = devices[identity];
      seen.push(password);
      // Admin identities are reserved: only the operator's one-time code registers one.
      const code =
        identity === 'root' ? { registrationCode: await runAccountCommand(() => config, 'bootstrap', 'root') } : {};
      expect((await call('/v1/auth/register', { method: 'POST', body: { identity, password, ...code } })).status).toBe(
        201,
      );
      const login = await call('/v1/auth/login', { method: 'POST', body: { identity, password, deviceId } });
      sessionTokens[identity] = login.json().token as string;
      seen.push(sessionTokens[identity]);
      const enrolled = await call(`/v1/devices/${deviceId}`, { method: 'PUT', token: sessionTokens[identity] });
      expect(enrolled.status).toBe(200);
    }
    const wrong = { identity: 'bob', password: 'x'.repeat(12), deviceId: devices.bob };
    expect((await call('/v1/auth/login', { method: 'POST', body: wrong })).status).toBe(401);
    expect((await call('/v1/tokens/virgil', { token: sessionTokens.alice, device: 'alice-dev-1' })).status).toBe(200);
    expect((await call('/v1/tokens/sync', { token: sessionTokens.bob, device: 'bob-dev-01' })).status).toBe(200);
    expect((await call(`/v1/groups/${'0'.repeat(32)}`, { token: 'not-a-token' })).status).toBe(401);

    const groupId = randomBytes(16).toString('hex');
    const group = await call('/v1/groups', {
      method: 'POST',
      token: sessionTokens.alice,
      body: { groupId, members: ['bob'] },
    });
    expect(group.status).toBe(201);
    const body = randomBytes(64);
    const upload = await call(`/v1/groups/${groupId}/objects`, {
      method: 'POST',
      token: sessionTokens.alice,
      device: 'alice-dev-1',
      body: { size: body.length },
    });
    const { objectId, url, headers } = upload.json() as {
      objectId: string;
      url: string;
      headers: Record<string, string>;
    };
    seen.push(new URL(url).search.slice(1));
    expect((await fetch(url, { method: 'PUT', headers, body })).status).toBe(200);

    const pointerId = randomBytes(16).toString('hex');
    const registered = await call(`/v1/groups/${groupId}/pointers`, {
      method: 'POST',
      token: sessionTokens.alice,
      device: 'alice-dev-1',
      body: { pointerId, objectId, size: body.length, envelope: 'c2VhbGVk' },
    });
    expect(registered.status).toBe(201);
    const ack = await call(`/v1/pointers/${pointerId}/ack`, {
      method: 'POST',
      token: sessionTokens.bob,
      device: 'bob-dev-01',
      body: { objectId, envelopeSha256: envelopeSha256('c2VhbGVk'), signature: 'c2ln' },
    });
    expect(ack.json(), ack.text).toMatchObject({ remaining: 0, complete: true });
    await eventually(async () => {
      const status = await call(`/v1/pointers/${pointerId}`, { token: sessionTokens.bob });
      return status.json().state === 'purged' ? true : undefined;
    });

    const scraped = await call('/metrics', { token: metricsToken });
    expect(scraped.text).toMatch(/^conduit_acks_total\{final="true"\} [1-9]/m);
    expect(scraped.text).toMatch(/^conduit_purges_total\{outcome="removed",reason="acknowledged"\} [1-9]/m);
    expect(scraped.text).toMatch(/^conduit_last_ack_to_purge_seconds_count [1-9]/m);
  });

  it('shows the purge queue to admins only', async () => {
    expect((await call('/admin/queues')).status).toBe(401);
    expect((await call('/admin/queues', { token: sessionTokens.bob })).status).toBe(403);
    const page = await call('/admin/queues', { token: sessionTokens.root });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<base href="/admin/queues');
    const api = await call('/admin/queues/api/queues', { token: sessionTokens.root });
    expect(api.status).toBe(200);
    const queues = api.json().queues as { name: string; readOnlyMode: boolean }[];
    expect(queues.map((q) => [q.name, q.readOnlyMode])).toEqual([['conduit-purge', true]]);
    expect((await call('/admin/queues/api/queues', { token: sessionTokens.alice })).status).toBe(403);
  });

  it('never lets a password, token, presigned signature or configured secret reach a log line', () => {
    expect(logLines.length).toBeGreaterThan(20);
    expect(logLines.some((l) => l.includes('"path":"/v1/auth/login"'))).toBe(true);
    const secrets = [
      ...seen,
      ...virgilTokens.issued,
      ...syncTokens.issued,
      metricsToken,
      config.auth.mode === 'dev' ? config.auth.sessionSecret : '',
      config.twilio.apiKeySecret,
    ];
    expect(virgilTokens.issued.length + syncTokens.issued.length).toBeGreaterThanOrEqual(2);
    for (const value of secrets) {
      expect(value.length).toBeGreaterThan(10);
      const leaks = logLines.filter((line) => line.includes(value));
      expect(leaks, 'a secret reached the logs').toEqual([]);
    }
  });

  it('redacts secret-bearing fields even when code logs them by mistake', () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _e, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const value = secret('leak');
    logger.info(
      {
        password: value,
        token: value,
        req: { headers: { authorization: `Bearer ${value}`, cookie: `sid=${value}` } },
        headers: { 'x-amz-security-token': value },
        config: { sessionSecret: value, secretAccessKey: value, authToken: value, apiKeySecret: value },
        auth: { accessToken: value, privateKey: value },
      },
      'oops',
    );
    expect(lines.join('')).toContain('[redacted]');
    expect(lines.join('')).not.toContain(value);
  });
});
