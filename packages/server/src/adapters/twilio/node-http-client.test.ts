import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formEncode, NodeHttpClient } from './node-http-client.js';
import { SyncRateLimitedError, SyncUnavailableError, TwilioSyncAdmin } from './twilio-sync-admin.js';

const SID = 'AC' + '0'.repeat(32);
const TOKEN = 'secret-token';
const KEY = 'SK' + '1'.repeat(32);
const KEY_SECRET = 'key-secret';
const SERVICE = 'IS' + '1'.repeat(32);

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[];
/** How the next requests are answered; a handler that never answers leaves the request hanging. */
let answer: (req: IncomingMessage, res: ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sync`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  answer = (_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ key: 'k1', data: { a: 1 }, sid: 'IT1' }));
  };
});

const service = (client: NodeHttpClient) => twilio(SID, TOKEN, { httpClient: client }).sync.v1.services(SERVICE);

describe('NodeHttpClient under the twilio library', () => {
  it('sends what the library builds (credentials, user agent, form body) to the Sync base URL', async () => {
    const item = await service(new NodeHttpClient({ syncBaseUrl: base }))
      .syncMaps('g_1')
      .syncMapItems.create({ key: 'k1', data: { a: 1, note: 'x y&z' }, itemTtl: 60 });
    expect(item.key).toBe('k1');
    expect(item.data).toEqual({ a: 1 });
    const [req] = seen;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe(`/sync/v1/Services/${SERVICE}/Maps/g_1/Items`);
    expect(req?.headers.authorization).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    expect(req?.headers['user-agent']).toMatch(/^twilio-node\//);
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(req?.body))).toEqual({
      Key: 'k1',
      Data: JSON.stringify({ a: 1, note: 'x y&z' }),
      ItemTtl: '60',
    });
  });

  it('puts query parameters in the URL and hands error answers to the library', async () => {
    answer = (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 20404, message: 'not found', status: 404 }));
    };
    const page = service(new NodeHttpClient({ syncBaseUrl: base }))
      .syncMaps('g_2')
      .syncMapItems.page({ pageSize: 7 });
    await expect(page).rejects.toMatchObject({ status: 404, code: 20404 });
    expect(seen[0]?.url).toBe(`/sync/v1/Services/${SERVICE}/Maps/g_2/Items?PageSize=7`);
  });

  it('gives up on a request that gets no answer, as a timeout', async () => {
    answer = () => undefined;
    const remove = service(new NodeHttpClient({ syncBaseUrl: base, timeoutMs: 50 }))
      .syncMaps('g_3')
      .syncMapItems('k')
      .remove();
    await expect(remove).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});

describe('TwilioSyncAdmin over NodeHttpClient', () => {
  const admin = (timeoutMs = 10_000) =>
    new TwilioSyncAdmin({
      accountSid: SID,
      apiKeySid: KEY,
      apiKeySecret: KEY_SECRET,
      serviceSid: SERVICE,
      restBaseUrl: base,
      timeoutMs,
    });

  it('authenticates every REST call with the API key and its secret, never an auth token', async () => {
    answer = (_req, res) => res.writeHead(204).end();
    await admin().removeMapItem('g_k', 'k');
    expect(seen.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from(`${KEY}:${KEY_SECRET}`).toString('base64')}`);
  });

  it("reads Retry-After from Sync's 429, and a 204 delete is 'removed'", async () => {
    answer = (_req, res) => {
      res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 54009, message: 'rate limited', status: 429 }));
    };
    const limited = admin().removeMapItem('g_4', 'k');
    await expect(limited).rejects.toBeInstanceOf(SyncRateLimitedError);
    await expect(limited).rejects.toMatchObject({ retryAfterMs: 3000 });
    answer = (_req, res) => res.writeHead(204).end();
    expect(await admin().removeMapItem('g_4', 'k')).toBe('removed');
    expect(seen.at(-1)).toMatchObject({ method: 'DELETE', url: `/sync/v1/Services/${SERVICE}/Maps/g_4/Items/k` });
  });

  it('classifies a timeout as Sync unavailable (retried by the worker)', async () => {
    answer = () => undefined;
    await expect(admin().removeMapItem('g_5', 'k')).rejects.toBeInstanceOf(SyncUnavailableError);
    await expect(admin().removeMapItem('g_5', 'k')).rejects.toMatchObject({
      message: expect.stringMatching(/timeout/),
    });
  });
});

describe('formEncode', () => {
  it("repeats an array's key, leaves out undefined, sends null empty, refuses nested objects", () => {
    expect(formEncode({ a: ['1', '2'], b: undefined, c: null, 'd e': 'x&y=z', f: true })).toBe(
      'a=1&a=2&c=&d%20e=x%26y%3Dz&f=true',
    );
    expect(() => formEncode({ a: { b: 1 } })).toThrow(TypeError);
  });
});
