import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedKeyStore, HttpClient } from '@conduit/client';
import { startLocalStack, startOidcProvider, type LocalStack } from '@conduit/devstack';
import { CLI, runCli, type CliResult } from './support/cli.js';

/**
 * Issue 15 item 1: the CLI signs in with the device authorization grant (RFC 8628) at the stack's
 * local OpenID Provider (oidc-provider), as subjects real providers issue, then shares a file.
 */
describe('OIDC login through the CLI', () => {
  let dir: string;
  let stack: LocalStack;
  const PASSPHRASE = { auth0: 'auth0 key passphrase', jane: 'jane key passphrase' };
  const SUBJECT = { auth0: 'auth0|abc', jane: 'jane@example.org' };
  const IDENTITY = { auth0: 'auth0_7cabc', jane: 'jane@example.org' };
  type Who = keyof typeof SUBJECT;
  const env = (who: Who) => ({
    ...stack.clientEnv,
    CONDUIT_HOME: join(dir, `${who}-home`),
    CONDUIT_IDENTITY: IDENTITY[who],
    CONDUIT_PASSWORD: PASSPHRASE[who],
  });

  /**
   * `conduit login` as a user would: read the code it prints, approve at the provider as `subject`
   * (or, with `interrupt`, press Ctrl-C instead), wait for the exit. `approval` is how approving ended.
   */
  async function deviceLogin(
    who: Who,
    subject: string | 'interrupt' = SUBJECT[who],
  ): Promise<CliResult & { approval: unknown }> {
    const { CONDUIT_IDENTITY: _unused, ...loginEnv } = env(who);
    let stderr = '';
    let approval: Promise<unknown> | undefined;
    const done = new Promise<CliResult>((resolve) => {
      const child = execFile(
        process.execPath,
        [CLI, '--json', 'login', '--oidc'],
        { env: { ...process.env, ...loginEnv }, timeout: 120_000 },
        (err, stdout, stderrAll) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr: stderrAll }),
      );
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const uri = /or open (\S+)/.exec(stderr)?.[1];
        if (!uri || approval) return;
        if (subject === 'interrupt') approval = Promise.resolve(child.kill('SIGINT'));
        else
          approval = stack.oidc!.approve(uri, subject).then(
            () => 'approved',
            (err: unknown) => err,
          );
      });
    });
    const result = await done;
    return { ...result, approval: await approval };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-oidc-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack'), oidc: true });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs in auth0|abc and jane@example.org by device code, then one sends a file the other receives', async () => {
    for (const who of ['jane', 'auth0'] as const) {
      const login = await deviceLogin(who);
      expect(login.code, login.stderr).toBe(0);
      expect(login.stderr).toMatch(/To sign in, open http:\/\/127\.0\.0\.1:\d+\/device and enter the code \S+/);
      expect(JSON.parse(login.stdout)).toMatchObject({ identity: IDENTITY[who], subject: SUBJECT[who] });
    }

    const created = await runCli(['--json', 'group', 'create', IDENTITY.jane], env('auth0'));
    expect(created.code, created.stderr).toBe(0);
    const { groupId } = JSON.parse(created.stdout) as { groupId: string };
    const sent = await runCli(['send', groupId, '-', '--name', 'hello.txt'], env('auth0'), { input: 'hi jane' });
    expect(sent.code, sent.stderr).toBe(0);

    const inbox = join(dir, 'inbox');
    await mkdir(inbox);
    const received = await runCli(['receive', groupId, '--out', inbox, '--once', '--timeout', '30'], env('jane'));
    expect(received.code, received.stderr).toBe(0);
    expect(await readFile(join(inbox, 'hello.txt'), 'utf8')).toBe('hi jane');

    // Without a cached ID token the CLI renews the sign-in with the sealed refresh token.
    const sessionFile = join(dir, 'jane-home', IDENTITY.jane, 'session.json');
    const before = await readFile(sessionFile, 'utf8');
    await rm(sessionFile);
    const listed = await runCli(['--json', 'group', 'ls'], env('jane'));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(groupId);
    expect(await readFile(sessionFile, 'utf8')).not.toBe(before);
  });

  it('keeps the refresh token only sealed in the key store, and logout revokes it', async () => {
    const home = join(dir, 'auth0-home', IDENTITY.auth0);
    const storePath = join(home, 'e3kit', 'keystore.json');
    const store = await EncryptedKeyStore.unlock(storePath, PASSPHRASE.auth0);
    const refreshToken = (await store.load('.conduit-oidc-refresh-token'))?.value;
    store.lock();
    expect(refreshToken).toMatch(/^\S{20,}$/);
    for (const file of await listFiles(home)) {
      expect((await readFile(file, 'latin1')).includes(refreshToken!), file).toBe(false);
    }

    // Password operations have no meaning here: refused before anything is sent.
    const backup = await runCli(['identity', 'backup'], env('auth0'));
    expect(backup.code).not.toBe(0);
    expect(backup.stderr).toContain('signs in through an identity provider');

    const out = await runCli(['--json', 'logout'], env('auth0'));
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ logout: 'provider', refreshToken: 'revoked' });
    expect(await readFile(join(home, 'e3kit', 'keystore.json'), 'utf8')).not.toContain('.conduit-oidc-refresh-token');
    const after = await runCli(['group', 'ls'], env('auth0'));
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('conduit login');

    // The key stays on the device: a new device login opens it with the same passphrase.
    expect((await deviceLogin('auth0')).code).toBe(0);
    expect((await runCli(['group', 'ls'], env('auth0'))).code).toBe(0);
  });

  it('refuses tokens of another issuer or audience, forged subjects, and unknown accounts', async () => {
    const janeDir = join(dir, 'jane-home', IDENTITY.jane);
    const { token } = JSON.parse(await readFile(join(janeDir, 'session.json'), 'utf8')) as { token: string };
    const { deviceId } = JSON.parse(await readFile(join(janeDir, 'device.json'), 'utf8')) as { deviceId: string };
    const api = (bearer: string) => {
      const client = new HttpClient({ baseUrl: stack.serverUrl });
      client.setDevice(deviceId);
      client.setSession(bearer);
      return client;
    };
    await expect(api(token).listGroups()).resolves.toBeDefined();

    // Another provider, same client id and subject: its key is not the issuer's.
    const other = await startOidcProvider();
    try {
      const [, payload] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
      const { privateKey } = await generateKeyPair('RS256');
      const sign = (extra: Record<string, unknown>) =>
        new SignJWT({ ...claims, ...extra }).setProtectedHeader({ alg: 'RS256', kid: 'attacker' }).sign(privateKey);
      await expect(api(await sign({ iss: other.issuer })).listGroups()).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
      });
      await expect(api(await sign({})).listGroups()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await other.close();
    }
    // The issuer's own token with its payload edited (another sub, another audience): the signature fails.
    const [header, payload, signature] = token.split('.');
    const edit = (change: Record<string, unknown>) => {
      const claims = { ...(JSON.parse(Buffer.from(payload!, 'base64url').toString()) as object), ...change };
      return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    };
    await expect(api(edit({ sub: SUBJECT.auth0 })).listGroups()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(api(edit({ aud: 'another-client' })).listGroups()).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });

    // A subject the provider has no account for signs in at the form but gets no token.
    const stranger = await deviceLogin('jane', 'mallory@example.org');
    expect(stranger.approval).toBeInstanceOf(Error);
    expect(stranger.code).not.toBe(0);
    expect(stranger.stderr).toContain('server_error');
    expect(await readdir(join(dir, 'jane-home'))).toEqual([IDENTITY.jane]);
  });

  it('stops waiting for the approval on Ctrl-C (exit 130)', async () => {
    const interrupted = await deviceLogin('jane', 'interrupt');
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain('interrupted');
  });
});

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}
