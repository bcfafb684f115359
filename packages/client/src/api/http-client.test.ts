import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitError } from '@conduit/shared';
import { HttpClient } from './http-client.js';

const GROUP = '0123456789abcdef0123456789abcdef';
const groupView = {
  groupId: GROUP,
  owner: 'alice',
  members: ['bob'],
  syncMap: `g_${GROUP}`,
  createdAt: '2025-01-01T00:00:00.000Z',
};

/** Scripted answers per path; records what the client sent. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  [`/v1/groups/${GROUP}`]: (_req, res) => json(res, 200, groupView),
  '/v1/groups': (_req, res) =>
    json(res, 409, { error: { code: 'GROUP_EXISTS', message: 'A group with this id already exists.' } }),
  '/v1/auth/login': (_req, res) => json(res, 401, { error: { code: 'INVALID_CREDENTIALS', message: 'Wrong.' } }),
  '/v1/tokens/virgil': (_req, res) => {
    res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
  },
  '/v1/tokens/sync': (_req, res) => json(res, 200, { token: 'x', identity: 'alice' }), // missing expiresAt
  [`/v1/pointers/${GROUP}`]: (_req, res) => {
    // Streams more than the client's bound, without a Content-Length.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`{"pad":"${'x'.repeat(4096)}`);
    res.end(`${'y'.repeat(4096)}"}`);
  },
  [`/v1/pointers/${GROUP}/ack`]: () => {
    // Never answers: the client's timeout must fire.
  },
  '/v1/devices': (req, res) =>
    req.headers.authorization === 'Bearer renewed-token'
      ? json(res, 200, { devices: [] })
      : json(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'Expired.' } }),
  '/v1/devices/device-0001': (req, res) =>
    json(res, 200, { identity: 'alice', deviceId: 'device-0001', createdAt: '2025-01-01T00:00:00.000Z' }),
};

let server: Server;
let baseUrl: string;
const seen: Array<{ path: string; headers: IncomingMessage['headers'] }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const route = routes[req.url ?? ''];
    if (route) route(req, res);
    else json(res, 404, { error: { code: 'NOT_FOUND', message: 'No such route.' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function client(opts: { timeoutMs?: number; maxResponseBytes?: number } = {}): HttpClient {
  const c = new HttpClient({ baseUrl, ...opts });
  c.setSession('session-token');
  c.setDevice('device-0001');
  return c;
}

async function failure(p: Promise<unknown>): Promise<ConduitError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConduitError);
  return err as ConduitError;
}

describe('HttpClient', () => {
  it('parses a valid response and sends the session and device headers', async () => {
    expect(await client().getGroup(GROUP)).toEqual(groupView);
    const req = seen.findLast((s) => s.path === `/v1/groups/${GROUP}`);
    expect(req?.headers.authorization).toBe('Bearer session-token');
    expect(req?.headers['conduit-device']).toBe('device-0001');
  });

  it('names the device while enrolling it (OIDC-mode servers require the header there too)', async () => {
    await client().registerDevice('device-0001');
    const req = seen.findLast((s) => s.path === '/v1/devices/device-0001');
    expect(req?.headers['conduit-device']).toBe('device-0001');
  });

  it('logs in for a device, without the session or device headers', async () => {
    const login = client().login({ identity: 'alice', password: 'password1', deviceId: 'device-0001' });
    expect((await failure(login)).code).toBe('INVALID_CREDENTIALS');
    const req = seen.findLast((s) => s.path === '/v1/auth/login');
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.headers['conduit-device']).toBeUndefined();
  });

  it('maps error bodies to their typed codes', async () => {
    const err = await failure(client().createGroup({ groupId: GROUP, members: [] }));
    expect(err.code).toBe('GROUP_EXISTS');
    expect(err.status).toBe(409);
  });

  it('maps a non-JSON error page to TRANSPORT', async () => {
    const err = await failure(client().virgilToken());
    expect(err.code).toBe('TRANSPORT');
    expect(err.message).toContain('502');
  });

  it('rejects a 200 that does not match the schema', async () => {
    expect((await failure(client().syncToken())).code).toBe('TRANSPORT');
  });

  it('bounds the response size', async () => {
    const err = await failure(client({ maxResponseBytes: 1024 }).pointerStatus(GROUP));
    expect(err.code).toBe('TRANSPORT');
    expect(err.message).toContain('larger than');
  });

  it('times out', async () => {
    expect(
      (
        await failure(
          client({ timeoutMs: 200 }).ack(GROUP, { objectId: null, envelopeSha256: '0'.repeat(64), signature: 'AA==' }),
        )
      ).code,
    ).toBe('TIMEOUT');
  });

  it('maps an unreachable server to TRANSPORT', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const c = new HttpClient({ baseUrl: `http://127.0.0.1:${port}` });
    c.setSession('t');
    expect((await failure(c.getGroup(GROUP))).code).toBe('TRANSPORT');
  });

  it('refuses to call an authenticated route without a session', async () => {
    const before = seen.length;
    expect((await failure(new HttpClient({ baseUrl }).getGroup(GROUP))).code).toBe('UNAUTHENTICATED');
    expect(seen.length).toBe(before);
  });

  it('rejects an unusable server URL', () => {
    expect(() => new HttpClient({ baseUrl: 'file:///etc/passwd' })).toThrow(ConduitError);
  });
});

describe('session renewal', () => {
  it('asks its session source to renew on a 401 and resends once with the new bearer', async () => {
    const renewed: string[] = [];
    const c = new HttpClient({ baseUrl });
    c.setSessionSource({
      bearer: async () => 'expired-token',
      renew: async (rejected) => {
        renewed.push(rejected);
        return 'renewed-token';
      },
    });
    await expect(c.listDevices()).resolves.toEqual({ devices: [] });
    expect(renewed).toEqual(['expired-token']);
  });

  it('keeps the 401 when the source has nothing better (no second renewal, no loop)', async () => {
    let renewals = 0;
    const c = new HttpClient({ baseUrl });
    c.setSessionSource({
      bearer: async () => 'expired-token',
      renew: async () => {
        renewals++;
        return undefined;
      },
    });
    await expect(c.listDevices()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(renewals).toBe(1);
  });
});
