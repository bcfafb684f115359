import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { CLI, runCli } from './support/cli.js';
import { clientOn } from './support/stack-client.js';

// Issue 15 item 6: every token a long-running endpoint holds is renewed before it expires. With
// the session, Sync and Virgil tokens living seconds, a `conduit receive` left running spans
// several lifetimes of each and still receives what is sent before and after every expiry.
// Four rounds of at least a session lifetime each: four session and Sync lifetimes, three Virgil ones.
const LIFETIMES = { sessions: { ttlSeconds: 6, refreshIdleSeconds: 300 }, syncSeconds: 6, virgilSeconds: 8 };
const ROUNDS = 4;
const PW = { alice: 'alice password 1', bob: 'bob password 123' };

interface StoredSession {
  token: string;
  expiresAt: string;
}

/** Polls `check` until it returns a value (conditions, not sleeps: the lifetimes are the clock). */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('long-running endpoints renew their tokens', () => {
  let dir: string;
  let stack: LocalStack;
  let groupId: string;
  const home = () => join(dir, 'home');
  const open = (who: keyof typeof PW) =>
    ConduitClient.open({ ...clientOn(stack, home(), who), keyPassword: async () => PW[who] });
  const env = (who: keyof typeof PW) => ({ ...stack.clientEnv, CONDUIT_HOME: home(), CONDUIT_PASSWORD: PW[who] });
  const storedSession = async (who: string): Promise<StoredSession> =>
    JSON.parse(await readFile(join(home(), who, 'session.json'), 'utf8')) as StoredSession;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-renewal-e2e-'));
    stack = await startLocalStack({
      dataDir: join(dir, 'stack'),
      tokenLifetimes: LIFETIMES,
      // Refreshes count against the password-attempt budget; seconds-long sessions spend it fast.
      server: { authRateLimit: { attemptsPerIdentity: 10_000 } },
    });
    for (const who of ['bob', 'alice'] as const) {
      const client = await open(who);
      await client.register(PW[who]);
      if (who === 'alice') groupId = (await client.createGroup(['bob'])).groupId;
      await client.close();
    }
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Alice sends a fresh file from a client opened for it (its own session renewed as needed). */
  const send = async (name: string): Promise<void> => {
    await writeFile(join(dir, name), randomBytes(4096));
    const alice = await open('alice');
    try {
      await alice.sendFile(groupId, join(dir, name));
    } finally {
      await alice.close();
    }
  };

  it('`receive` keeps receiving across several session, Sync and Virgil token lifetimes', async () => {
    const out = join(dir, 'inbox');
    await mkdir(out);
    await send('before-start.bin');
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, '--json', '--as', 'bob', 'receive', groupId, '--out', out],
      {
        env: { ...process.env, ...env('bob') },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const received = new Set<string>();
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) received.add((JSON.parse(line) as { name: string }).name);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const arrived = (name: string) =>
      until(`${name} (stderr: ${stderr})`, async () => {
        expect(child.exitCode, stderr).toBeNull();
        return received.has(name) ? true : undefined;
      });
    try {
      await arrived('before-start.bin');
      const seen = new Set<string>();
      for (let round = 1; round <= ROUNDS; round++) {
        // Wait until bob's session in use has expired and the receiver renewed it.
        const old = await storedSession('bob');
        seen.add(old.token);
        await until(`bob's session renewed past ${old.expiresAt}`, async () => {
          const now = await storedSession('bob');
          return Date.now() > Date.parse(old.expiresAt) && !seen.has(now.token) ? now : undefined;
        });
        // Longer than every token lifetime has passed since the previous file, and the next arrives.
        await send(`round-${round}.bin`);
        await arrived(`round-${round}.bin`);
      }
      expect(received).toEqual(
        new Set(['before-start.bin', ...Array.from({ length: ROUNDS }, (_, i) => `round-${i + 1}.bin`)]),
      );
      expect(stderr).not.toMatch(/UNAUTHENTICATED|REFRESH_TOKEN_REUSED|warning/);
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('processes of one device renewing at once trade the refresh token once, and stay logged in', async () => {
    const old = await storedSession('alice');
    await until('alice session expired', async () => (Date.now() > Date.parse(old.expiresAt) ? true : undefined));
    const runs = await Promise.all(
      Array.from({ length: 3 }, () => runCli(['--json', '--as', 'alice', 'group', 'ls'], env('alice'))),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const after = await runCli(['--json', '--as', 'alice', 'group', 'ls'], env('alice'));
    expect(after.code, after.stderr).toBe(0);
  });

  it('a logged-out device cannot renew: the next command asks for a login', async () => {
    const alice = await open('alice');
    expect(await alice.logout()).toBe('ended');
    await alice.close();
    const run = await runCli(['--json', '--as', 'alice', 'group', 'ls'], env('alice'));
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/UNAUTHENTICATED/);
  });
});
