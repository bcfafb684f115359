import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../api/http-client.js';
import type { StoredSession } from '../state/local-state.js';
import { IdTokenSource, jwtExpiry, type IdTokenProvider } from './id-token-source.js';

/** An unsigned JWT-shaped token expiring `inSeconds` from now: the client only reads `exp`. */
const tokenExpiringIn = (inSeconds: number, id: string): string =>
  `e30.${Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + inSeconds, id })).toString('base64url')}.sig`;

/** A source over `provider` that keeps each new token in `kept`. */
const sourceOf = (provider: IdTokenProvider, kept: string[] = []): IdTokenSource =>
  new IdTokenSource(provider, async (session: StoredSession | undefined) => void (session && kept.push(session.token)));

describe('IdTokenSource', () => {
  it('reads exp, and leaves tokens that are not JWTs without one', () => {
    const token = tokenExpiringIn(600, 'a');
    expect(jwtExpiry(token)).toBeGreaterThan(Date.now() + 590_000);
    expect(jwtExpiry('opaque')).toBeUndefined();
    expect(jwtExpiry('a.not-json.b')).toBeUndefined();
  });

  it('asks the provider once while the token is good, again when it is within a minute of expiry', async () => {
    const issued = [tokenExpiringIn(3600, 'first'), tokenExpiringIn(30, 'short'), tokenExpiringIn(3600, 'third')];
    let calls = 0;
    const kept: string[] = [];
    const source = sourceOf(async () => issued[calls++]!, kept);
    expect(await source.bearer()).toBe(issued[0]);
    expect(await source.bearer()).toBe(issued[0]);
    expect(calls).toBe(1);
    await source.renew();
    expect(await source.bearer()).toBe(issued[2]); // the 30 s token was replaced before use
    expect(calls).toBe(3);
    expect(kept).toEqual(issued);
  });

  it('shares one provider call between concurrent callers', async () => {
    let calls = 0;
    const source = sourceOf(async () => {
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      return tokenExpiringIn(3600, 'x');
    });
    await Promise.all([source.bearer(), source.bearer(), source.bearer()]);
    expect(calls).toBe(1);
  });
});

describe('HttpClient with an ID-token provider', () => {
  let server: Server;
  let baseUrl: string;
  /** The server accepts only these tokens. */
  const accepted = new Set<string>();
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      seen.push(token);
      if (!accepted.has(token)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'no' } }));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ groups: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('retries once with a new token after a 401, and gives up after the second', async () => {
    const refused = tokenExpiringIn(3600, 'revoked-at-the-provider');
    const fresh = tokenExpiringIn(3600, 'fresh');
    accepted.add(fresh);
    const issued = [refused, fresh];
    const api = new HttpClient({ baseUrl });
    api.setSessionSource(sourceOf(async () => issued.shift() ?? refused));
    seen.length = 0;
    await expect(api.listGroups()).resolves.toEqual({ groups: [] });
    expect(seen).toEqual([refused, fresh]);

    accepted.delete(fresh);
    seen.length = 0;
    await expect(api.listGroups()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(seen).toEqual([fresh, refused]);
  });
});
