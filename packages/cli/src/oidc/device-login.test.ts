import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceLogin, type DeviceLoginPrompt } from './device-login.js';
import { discoverIssuer } from './issuer.js';

/**
 * The CLI's device-login polling against a scripted authorization server on a local port (a fake
 * port: the real provider runs in test/e2e/oidc-login.test.ts). Each token request takes the next
 * scripted answer.
 */
describe('deviceLogin', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function authorizationServer(opts: { expiresIn: number; answers: (() => Promise<object> | object)[] }) {
    const polls: number[] = [];
    server = createServer((req, res) => {
      const send = (status: number, body: object) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/.well-known/openid-configuration') {
        return send(200, {
          issuer,
          token_endpoint: `${issuer}/token`,
          device_authorization_endpoint: `${issuer}/device/auth`,
          jwks_uri: `${issuer}/jwks`,
        });
      }
      if (req.url === '/device/auth') {
        return send(200, {
          device_code: 'dc',
          user_code: 'ABCD-EFGH',
          verification_uri: `${issuer}/device`,
          verification_uri_complete: `${issuer}/device?user_code=ABCD-EFGH`,
          expires_in: opts.expiresIn,
          interval: 1,
        });
      }
      polls.push(Date.now());
      const next = opts.answers[Math.min(polls.length - 1, opts.answers.length - 1)]!;
      void Promise.resolve(next()).then((body) => send('error' in body ? 400 : 200, body));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = await discoverIssuer({ issuer, clientId: 'cli', scope: 'openid offline_access' });
    return { issuer, config, polls };
  }

  async function idToken(issuer: string, sub: string): Promise<string> {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(issuer)
      .setAudience('cli')
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  }

  it('shows the code, keeps polling while pending, backs off 5 s more after slow_down, then returns the tokens', async () => {
    let issuerUrl = '';
    const granted = async () => ({
      access_token: 'at',
      token_type: 'bearer',
      id_token: await idToken(issuerUrl, 'auth0|abc'),
      refresh_token: 'rt',
    });
    const { issuer, config, polls } = await authorizationServer({
      expiresIn: 60,
      answers: [() => ({ error: 'authorization_pending' }), () => ({ error: 'slow_down' }), granted],
    });
    issuerUrl = issuer;
    const shown: DeviceLoginPrompt[] = [];
    const tokens = await deviceLogin(
      config,
      'openid offline_access',
      (p) => shown.push(p),
      new AbortController().signal,
    );
    expect(shown).toEqual([
      {
        verificationUri: `${issuer}/device`,
        verificationUriComplete: `${issuer}/device?user_code=ABCD-EFGH`,
        userCode: 'ABCD-EFGH',
        expiresInSeconds: 60,
      },
    ]);
    expect(tokens).toMatchObject({ subject: 'auth0|abc', refreshToken: 'rt' });
    expect(polls).toHaveLength(3);
    // RFC 8628 §3.5: after slow_down the interval grows by 5 s for every later request.
    expect(polls[2]! - polls[1]!).toBeGreaterThanOrEqual(4_900);
  }, 20_000);

  it('fails with TIMEOUT when the code expires before anyone approves it', async () => {
    const { config } = await authorizationServer({
      expiresIn: 1,
      answers: [() => ({ error: 'authorization_pending' })],
    });
    await expect(deviceLogin(config, 'openid', () => undefined, new AbortController().signal)).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
  });

  it('fails with TIMEOUT on expired_token and UNAUTHENTICATED on access_denied', async () => {
    const expired = await authorizationServer({ expiresIn: 60, answers: [() => ({ error: 'expired_token' })] });
    await expect(
      deviceLogin(expired.config, 'openid', () => undefined, new AbortController().signal),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const denied = await authorizationServer({ expiresIn: 60, answers: [() => ({ error: 'access_denied' })] });
    await expect(
      deviceLogin(denied.config, 'openid', () => undefined, new AbortController().signal),
    ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('stops polling when interrupted, with the interruption as the reason', async () => {
    const { config } = await authorizationServer({
      expiresIn: 60,
      answers: [() => ({ error: 'authorization_pending' })],
    });
    const ctrlC = new AbortController();
    const reason = new Error('interrupted');
    const login = deviceLogin(config, 'openid', () => ctrlC.abort(reason), ctrlC.signal);
    await expect(login).rejects.toBe(reason);
  });

  it('refuses a plain-http issuer that is not on the loopback interface', async () => {
    await expect(
      discoverIssuer({ issuer: 'http://idp.example.org', clientId: 'cli', scope: 'openid' }),
    ).rejects.toMatchObject({ code: 'CONFIG' });
  });
});
