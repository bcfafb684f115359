import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createApi, type Api } from '../../server.js';
import type { ServerConfig } from '../../config.js';
import { DASHBOARD_PATH } from '../../ops/dashboard.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  deleteKeys,
  randomKeyPrefix,
  testConfig,
} from '../../testing/fakes.js';
import { routeTable } from '../../testing/route-table.js';

interface Document {
  openapi: string;
  servers?: { url: string }[];
  paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
  components: { securitySchemes: Record<string, { type: string }>; parameters: Record<string, { required: boolean }> };
}

const running: { api: Api; server: Server; prefix: string }[] = [];
afterAll(async () => {
  for (const { api, server, prefix } of running) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await api.close();
    await deleteKeys(prefix);
  }
});

/** The API as the server builds it (real Redis, fake S3/Sync/Virgil ports), listening on a free port. */
async function serve(overrides: Partial<ServerConfig> = {}) {
  const prefix = randomKeyPrefix();
  const api = await createApi(testConfig(prefix, overrides), {
    objectStore: new FakeObjectStore(),
    syncAdmin: new FakeSyncAdmin(),
    virgilTokens: new FakeTokenIssuer('virgil'),
    syncTokens: new FakeTokenIssuer('sync'),
  });
  const server = createServer(api.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push({ api, server, prefix });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const response = await fetch(`${url}/openapi.json`);
  return { api, url, response, document: (await response.json()) as Document };
}

/** `METHOD /express/:path` of every operation in the document. */
const operationsOf = (doc: Document) =>
  new Set(
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    ),
  );

const oidc = {
  mode: 'oidc',
  issuer: 'https://idp.test',
  audience: 'conduit',
  jwksUrl: 'http://127.0.0.1:9/jwks',
} as const;

describe('GET /openapi.json', () => {
  // The queue dashboard is an HTML UI mounted by a library, not an API operation.
  const skip = [DASHBOARD_PATH];

  it.each([
    ['dev auth with the legacy test routes', {}],
    ['dev auth as configured servers run it', { auth: { mode: 'dev', sessionSecret: 'x'.repeat(43) } } as const],
    ['OIDC auth', { auth: oidc }],
  ] as const)('documents exactly the routes the app serves (%s)', async (_name, overrides) => {
    const { api, document } = await serve(overrides);
    const routes = routeTable(api.app, skip);
    const documented = operationsOf(document);
    expect([...routes].filter((r) => !documented.has(r)).sort(), 'routes without an OpenAPI entry').toEqual([]);
    expect([...documented].filter((r) => !routes.has(r)).sort(), 'OpenAPI entries without a route').toEqual([]);
    expect(routes.size).toBeGreaterThan(10);
  });

  it('is a valid OpenAPI 3.1 document, served unauthenticated and cacheable', async () => {
    const { response, document } = await serve();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(
      structuredClone(document) as unknown as Parameters<Validator['validate']>[0],
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists CONDUIT_PUBLIC_URL as the only server, and no server without it', async () => {
    expect((await serve({ publicUrl: 'https://conduit.example.org' })).document.servers).toEqual([
      { url: 'https://conduit.example.org' },
    ]);
    expect((await serve()).document.servers).toBeUndefined();
  });

  it('names the session scheme in dev auth, the provider and a required device header in OIDC auth', async () => {
    const dev = (await serve()).document;
    expect(dev.components.securitySchemes.session?.type).toBe('http');
    expect(dev.components.parameters.ConduitDevice?.required).toBe(false);
    expect(dev.paths['/v1/groups']?.post?.security).toEqual([{ session: [] }]);
    expect(dev.paths['/healthz']?.get?.security).toEqual([]);

    const viaIdp = (await serve({ auth: oidc })).document;
    expect(viaIdp.components.securitySchemes.oidc).toEqual({
      type: 'openIdConnect',
      openIdConnectUrl: 'https://idp.test/.well-known/openid-configuration',
      description: expect.any(String),
    });
    expect(viaIdp.components.parameters.ConduitDevice?.required).toBe(true);
    expect(viaIdp.paths['/v1/groups']?.post?.security).toEqual([{ oidc: [] }]);
    expect(viaIdp.paths['/v1/auth/opaque/login/start']).toBeUndefined();
  });

  it('holds no secret of the configuration', async () => {
    const config = testConfig('unused:');
    const text = JSON.stringify((await serve()).document);
    for (const secret of [config.twilio.apiKeySecret, config.virgil.appPrivateKey, 'redis://']) {
      expect(text).not.toContain(secret);
    }
  });

  it('has every operation in the route tables of docs/api.md', async () => {
    const docs = readFileSync(new URL('../../../../../docs/api.md', import.meta.url), 'utf8');
    const listed = (route: string) => {
      const [method, path] = route.split(' ') as [string, string];
      // The uploads table abbreviates /v1/groups/:groupId as "...".
      const short = path.replace(/^\/v1\/groups\/:groupId\//, '.../');
      return [path, short].some((p) => docs.includes(`\`${method} ${p}\``) || docs.includes(`\`${method} ${p}[`));
    };
    const { document } = await serve();
    expect([...operationsOf(document)].filter((route) => !listed(route))).toEqual([]);
  });

  it("answers with the documented status and schema on a client's first requests", async () => {
    const { url, document } = await serve();
    const validator = new Validator();
    await validator.validate(structuredClone(document) as unknown as Parameters<Validator['validate']>[0]);
    const resolved = validator.resolveRefs() as unknown as ResolvedDocument;
    const ajv = new Ajv2020({ strict: false });
    const checked: string[] = [];

    /** Calls the route and checks the body against the schema documented for (route, status). */
    async function call(method: string, template: string, path: string, init: { token?: string; body?: unknown } = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await res.text();
      const documented = resolved.paths[template.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()]?.responses;
      const response = documented?.[String(res.status)];
      expect(response, `${method} ${template} ${res.status} is documented`).toBeDefined();
      const schema = response?.content?.['application/json']?.schema;
      if (schema) {
        const validate = ajv.compile(schema);
        expect(
          validate(JSON.parse(text)),
          `${method} ${template} ${res.status}: ${ajv.errorsText(validate.errors)}`,
        ).toBe(true);
      } else {
        expect(text).toBe('');
      }
      checked.push(`${method} ${template} ${res.status}`);
      return { status: res.status, json: () => JSON.parse(text) as Record<string, unknown> };
    }

    const identity = `oa-${randomBytes(4).toString('hex')}`;
    const deviceId = 'openapi-device-1';
    const password = 'correct horse battery';
    const groupId = randomBytes(16).toString('hex');
    await call('GET', '/healthz', '/healthz');
    expect(
      (await call('POST', '/v1/auth/register', '/v1/auth/register', { body: { identity, password } })).status,
    ).toBe(201);
    const login = await call('POST', '/v1/auth/login', '/v1/auth/login', { body: { identity, password, deviceId } });
    const token = login.json().token as string;
    expect((await call('PUT', '/v1/devices/:deviceId', `/v1/devices/${deviceId}`, { token })).status).toBe(200);
    const created = await call('POST', '/v1/groups', '/v1/groups', { token, body: { groupId, members: [] } });
    expect(created.status).toBe(201);
    await call('GET', '/v1/groups', '/v1/groups', { token });
    await call('GET', '/v1/groups/:groupId', `/v1/groups/${groupId}`, { token });
    await call('GET', '/v1/tokens/sync', '/v1/tokens/sync', { token });
    await call('GET', '/v1/groups/:groupId/feed/:afterSeq', `/v1/groups/${groupId}/feed/0`, { token });
    // The error envelope, with a code the document lists for that route and status.
    expect((await call('GET', '/v1/groups', '/v1/groups')).status).toBe(401);
    expect((await call('POST', '/v1/groups', '/v1/groups', { token, body: { groupId: 'nope' } })).status).toBe(400);
    const missing = randomBytes(16).toString('hex');
    expect((await call('GET', '/v1/groups/:groupId', `/v1/groups/${missing}`, { token })).status).toBe(404);
    expect(checked).toHaveLength(12);
  });
});

interface ResolvedDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>
  >;
}
