import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConduitError } from '@conduit/shared';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcAuthenticator } from './oidc-authenticator.js';
import { hashPassword, verifyPassword } from './password.js';
import { SessionTokens } from './session-tokens.js';

type CryptoKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

async function rejection(promise: Promise<unknown>): Promise<ConduitError> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(err instanceof ConduitError)) throw err;
  return err;
}

describe('password hashing', () => {
  it('verifies the right password only, with a per-user salt and stored parameters', async () => {
    const fast = { N: 2 ** 10, r: 8, p: 1 };
    const a = await hashPassword('password one', fast);
    const b = await hashPassword('password one', fast);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(a).not.toContain('password one');
    expect(await verifyPassword('password one', a)).toBe(true);
    expect(await verifyPassword('password two', a)).toBe(false);
    expect(await verifyPassword('password one', 'garbage')).toBe(false);
  });

  it('uses the OWASP scrypt baseline by default', async () => {
    expect(await hashPassword('password one')).toMatch(/^scrypt\$32768\$8\$1\$/);
  });
});

describe('dev session tokens', () => {
  const sessions = new SessionTokens('s'.repeat(40));

  it('round-trips the identity and the device, and expires after 12 hours', async () => {
    const now = new Date();
    const { token, expiresAt } = await sessions.issue('alice', 'alice-laptop', now);
    expect(expiresAt.getTime() - Math.floor(now.getTime() / 1000) * 1000).toBe(12 * 3600 * 1000);
    expect(await sessions.authenticate(token)).toEqual({
      identity: 'alice',
      deviceId: 'alice-laptop',
      sessionEpoch: 0,
      deviceSessionEpoch: 0,
    });
    const later = await sessions.issue('alice', 'alice-laptop', now, { epoch: 3, deviceEpoch: 5 });
    expect(await sessions.authenticate(later.token)).toMatchObject({ sessionEpoch: 3, deviceSessionEpoch: 5 });
  });

  it('refuses expired tokens, foreign secrets and alg=none', async () => {
    const old = await sessions.issue('alice', 'alice-laptop', new Date(Date.now() - 13 * 3600 * 1000));
    expect((await rejection(sessions.authenticate(old.token))).code).toBe('UNAUTHENTICATED');
    const foreign = await new SessionTokens('x'.repeat(40)).issue('alice', 'alice-laptop');
    expect((await rejection(sessions.authenticate(foreign.token))).code).toBe('UNAUTHENTICATED');
    const [, payload] = (await sessions.issue('alice', 'alice-laptop')).token.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    expect((await rejection(sessions.authenticate(none))).code).toBe('UNAUTHENTICATED');
  });

  it('refuses sessions without a valid device claim (issued before devices were bound)', async () => {
    const key = new TextEncoder().encode('s'.repeat(40));
    const session = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('alice')
        .setIssuer('conduit-dev')
        .setAudience('conduit-api')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key);
    // Sessions from before session epochs count as epoch 0 (ended by the first password change or
    // logout of their device).
    expect(await sessions.authenticate(await session({ dev: 'alice-laptop' }))).toEqual({
      identity: 'alice',
      deviceId: 'alice-laptop',
      sessionEpoch: 0,
      deviceSessionEpoch: 0,
    });
    const invalid = [
      {},
      { dev: 'no' },
      { dev: 'bad/device' },
      { dev: 42 },
      { dev: 'alice-laptop', sep: '1' },
      { dev: 'alice-laptop', dse: 1.5 },
    ];
    for (const claims of invalid) {
      expect((await rejection(sessions.authenticate(await session(claims)))).code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('OIDC authenticator', () => {
  let jwks: Server;
  let jwksUrl: string;
  let jwksStatus = 200;
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;
  const issuer = 'https://idp.test';
  const audience = 'conduit';

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(jwksStatus, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`;
  });

  afterAll(async () => {
    await new Promise((resolve) => jwks.close(resolve));
  });

  const token = (claims: { sub?: string; iss?: string; aud?: string }, key: CryptoKey = signingKey) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuedAt().setExpirationTime('5m');
    if (claims.sub !== undefined) jwt.setSubject(claims.sub);
    return jwt
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? audience)
      .sign(key);
  };

  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['auth0|64f1c0ffee', 'auth0_7c64f1c0ffee'],
    ['alice:device', 'alice_3adevice'],
  ])('accepts a valid token and maps its sub %s to the identity %s', async (sub, identity) => {
    const auth = new OidcAuthenticator({ issuer, audience, jwksUrl });
    expect(await auth.authenticate(await token({ sub }))).toEqual({ identity });
  });

  it.each([
    ['wrong issuer', { sub: 'alice', iss: 'https://evil.test' }],
    ['wrong audience', { sub: 'alice', aud: 'other' }],
    ['missing sub', {}],
    ['sub longer than 255 characters', { sub: 'a'.repeat(256) }],
    ['empty sub', { sub: '' }],
  ])('refuses a token with %s', async (_name, claims) => {
    const auth = new OidcAuthenticator({ issuer, audience, jwksUrl });
    expect((await rejection(auth.authenticate(await token(claims)))).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token signed by another key', async () => {
    const auth = new OidcAuthenticator({ issuer, audience, jwksUrl });
    expect(await rejection(auth.authenticate(await token({ sub: 'alice' }, otherKey)))).toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('reports an unreachable or failing JWKS as a dependency outage, not a bad token', async () => {
    const down = new OidcAuthenticator({ issuer, audience, jwksUrl: 'http://127.0.0.1:9/jwks' });
    expect((await rejection(down.authenticate(await token({ sub: 'alice' })))).code).toBe('DEPENDENCY_UNAVAILABLE');
    jwksStatus = 500;
    try {
      const failing = new OidcAuthenticator({ issuer, audience, jwksUrl });
      expect((await rejection(failing.authenticate(await token({ sub: 'alice' })))).code).toBe(
        'DEPENDENCY_UNAVAILABLE',
      );
    } finally {
      jwksStatus = 200;
    }
  });
});
