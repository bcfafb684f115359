import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { runCliOnPty } from './support/pty.js';

// Issue 11 item 7: the errors a new user meets first each come with a hint that says what to do.
describe('CLI hints', () => {
  let dir: string;
  let server: Server;
  let answer: { status: number; code: string; message: string };
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-hints-'));
    // A stand-in server answering every request with the error under test.
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: answer.code, message: answer.message } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    env = { CONDUIT_HOME: join(dir, 'home'), CONDUIT_SERVER_URL: `http://127.0.0.1:${port}`, CONDUIT_PASSWORD: '' };
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('NOT_FOUND', async () => {
    answer = { status: 404, code: 'NOT_FOUND', message: 'No such route.' };
    const r = await runCli(['--as', 'bob', 'login'], { ...env, CONDUIT_PASSWORD: 'bob password 1' });
    expect(r.stderr).toContain('error NOT_FOUND: No such route.');
    expect(r.stderr).toContain('hint: the server or Sync has no such route, map or item: check that --server');
    expect(r.code).toBe(6);
  });

  it('FORBIDDEN', async () => {
    answer = { status: 403, code: 'FORBIDDEN', message: 'You are not allowed to do this.' };
    const r = await runCli(['--as', 'bob', 'login'], { ...env, CONDUIT_PASSWORD: 'bob password 1' });
    expect(r.stderr).toContain('error FORBIDDEN: You are not allowed to do this.');
    expect(r.stderr).toContain('hint: you lack the right for this: owner-only actions need the group owner');
    expect(r.code).toBe(3);
  });

  it('a missing file to send, before anything is asked or uploaded', async () => {
    const missing = join(dir, 'no-such-file.txt');
    const r = await runCli(['--as', 'bob', 'send', 'a'.repeat(32), missing], env);
    expect(r.stderr).toContain(`error FILE_NOT_FOUND: No file ${missing} to send.`);
    expect(r.stderr).toContain('hint: check the path (relative paths start at the current folder)');
    expect(r.code).toBe(2);
  });

  it('a password mismatch at the prompt', async () => {
    const pty = runCliOnPty(['--as', 'bob', 'register'], env);
    try {
      await pty.waitFor(/Password \[input is masked\]$/);
      pty.write('first password 1\r');
      await pty.waitFor(/Repeat password \[input is masked\]$/);
      pty.write('other password 2\r');
      expect(await pty.exited).toBe(2);
      const out = pty.output();
      expect(out).toContain('error PASSWORD_MISMATCH: The two passwords typed do not match.');
      expect(out).toContain('hint: nothing was changed: run the command again and type the same password both times.');
      expect(out).not.toContain('password 1'); // never echoed
    } finally {
      pty.kill();
    }
  });
});
