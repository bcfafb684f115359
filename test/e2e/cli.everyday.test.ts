import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, HttpClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { runCli } from './support/cli.js';
import { runCliOnPty } from './support/pty.js';
import { clientOn } from './support/stack-client.js';

// Issue 11 item 13: `send` of several files and of standard input, `received`, `whoami`; issue 15: `logout`.
describe('everyday CLI commands', () => {
  let dir: string;
  let stack: LocalStack;
  let groupId: string;
  const PW = { alice: 'alice password 1', bob: 'bob password 123' };
  const env = (who: 'alice' | 'bob') => ({
    ...stack.clientEnv,
    CONDUIT_HOME: join(dir, `${who}-home`),
    CONDUIT_IDENTITY: who,
    CONDUIT_PASSWORD: PW[who],
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-everyday-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    const open = (who: 'alice' | 'bob') => ConduitClient.open(clientOn(stack, join(dir, `${who}-home`), who));
    const bob = await open('bob');
    await bob.register(PW.bob);
    await bob.close();
    const alice = await open('alice');
    await alice.register(PW.alice);
    groupId = (await alice.createGroup(['bob'])).groupId;
    await alice.close();
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('whoami prints identity, device, server, home and session without creating anything', async () => {
    const r = await runCli(['--json', 'whoami'], env('alice'));
    expect(r.code, r.stderr).toBe(0);
    const me = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(me).toMatchObject({ identity: 'alice', serverUrl: stack.serverUrl, home: join(dir, 'alice-home') });
    expect(me.deviceId).toMatch(/^[\w-]{16,}$/);
    expect(me.session).toMatchObject({ expiresAt: expect.any(String) });

    const stranger = await runCli(['whoami'], { ...env('alice'), CONDUIT_IDENTITY: 'nobody-here' });
    expect(stranger.code).toBe(0);
    expect(stranger.stdout).toContain('identity  nobody-here');
    expect(stranger.stdout).toContain('not logged in (`conduit login`)');
    await expect(stat(join(dir, 'alice-home', 'nobody-here'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  // Issue 15 item 7: logout ends the device's sessions at the server (a copied token too) and
  // forgets the stored one; the identity's other devices are not affected.
  it('logout ends this device’s sessions at the server; whoami then says not logged in', async () => {
    const laptop = { ...env('alice'), CONDUIT_HOME: join(dir, 'alice-laptop') };
    expect((await runCli(['login'], laptop)).code).toBe(0);
    const sessionFile = join(dir, 'alice-laptop', 'alice', 'session.json');
    const { token } = JSON.parse(await readFile(sessionFile, 'utf8')) as { token: string };
    const copied = new HttpClient({ baseUrl: stack.serverUrl });
    copied.setSession(token);
    await copied.listGroups();

    const out = await runCli(['--json', 'logout'], laptop);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ identity: 'alice', logout: 'ended' });
    await expect(stat(sessionFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(copied.listGroups()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await runCli(['whoami'], laptop)).stdout).toContain('not logged in');
    const again = await runCli(['logout'], laptop);
    expect(again.stdout).toContain('this device had no live session');
    // alice's first device still works.
    expect((await runCli(['group', 'ls'], env('alice'))).code).toBe(0);
  });

  it('send refuses - without --name, and --name with several files', async () => {
    const a = await runCli(['send', groupId, '-'], env('alice'), { input: 'x' });
    expect(a.stderr).toContain('error VALIDATION_FAILED: Sending standard input (-) needs --name <name>');
    expect(a.code).toBe(2);
    const one = join(dir, 'one.txt');
    await writeFile(one, 'one');
    const b = await runCli(['send', groupId, one, one, '--name', 'x.txt'], env('alice'));
    expect(b.stderr).toContain('error VALIDATION_FAILED: --name names a single file');
    expect(b.code).toBe(2);
  });

  it('sends several files and standard input; received lists them', async () => {
    const files = { 'a.txt': randomBytes(3000), 'b.bin': randomBytes(70_000) };
    for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
    const piped = `from a pipe ${randomBytes(8).toString('hex')}\n`;

    const sent = await runCli(['--json', 'send', groupId, join(dir, 'a.txt'), join(dir, 'b.bin')], env('alice'));
    expect(sent.code, sent.stderr).toBe(0);
    expect(
      sent.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { plainLength: number }),
    ).toMatchObject([{ plainLength: 3000 }, { plainLength: 70_000 }]);
    const fromStdin = await runCli(['send', groupId, '-', '--name', 'note.txt'], env('alice'), { input: piped });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toMatch(/^sent pointer \S+ \(\d+ bytes, \d+ stored\) <- standard input$/m);

    const inbox = join(dir, 'inbox');
    await mkdir(inbox);
    for (let i = 0; i < 3; i++) {
      const r = await runCli(['receive', groupId, '--out', inbox, '--once', '--timeout', '30'], env('bob'));
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await readFile(join(inbox, 'note.txt'), 'utf8')).toBe(piped);
    expect(await readFile(join(inbox, 'b.bin'))).toEqual(files['b.bin']);

    const listed = await runCli(['--json', 'received'], env('bob'));
    expect(listed.code, listed.stderr).toBe(0);
    const { files: entries } = JSON.parse(listed.stdout) as {
      files: { name: string; size: number; path: string; sender: { identity: string }; receivedAt: string }[];
    };
    expect(entries.map((e) => e.name).sort()).toEqual(['a.txt', 'b.bin', 'note.txt']);
    for (const e of entries) {
      expect(e.sender.identity).toBe('alice');
      expect(e.path).toBe(join(inbox, e.name));
      expect(Date.parse(e.receivedAt)).not.toBeNaN();
    }
    expect(entries.find((e) => e.name === 'b.bin')?.size).toBe(70_000);
    expect((await stat(join(dir, 'bob-home', 'bob', 'received-files.jsonl'))).mode & 0o777).toBe(0o600);

    const text = await runCli(['received', '--group', groupId], env('bob'));
    expect(text.stdout).toMatch(/ note\.txt {2}\d+ bytes {2}from alice {2}-> .*note\.txt$/m);
    const none = await runCli(['received'], env('alice'));
    expect(none.stdout.trim()).toBe('no files received yet');
  });

  // Issue 11 item 10: in follow mode the prompt comes first, a wrong password is asked again, an
  // accepted one is confirmed, nothing typed is echoed, and the terminal echoes again afterwards.
  it('receive asks for the password before any status line and confirms it', async () => {
    const { CONDUIT_PASSWORD: _pw, ...noPassword } = env('bob');
    const inbox = join(dir, 'inbox-prompt');
    await mkdir(inbox);
    const pty = runCliOnPty(['receive', groupId, '--out', inbox, '--timeout', '2'], noPassword, { after: 'stty -a' });
    try {
      await pty.waitFor(/Password \[input is masked\]$/);
      expect(pty.output()).not.toContain('receiving into');
      pty.write('not the password\r');
      await pty.waitFor(/wrong password \(attempt 1 of 3\); try again\r?\n ?Password \[input is masked\]$/);
      pty.write(`${PW.bob}\r`);
      await pty.waitFor(/password accepted\r?\nreceiving into /);
      expect(await pty.exited).toBe(0);
      const out = pty.output();
      expect(out).not.toContain(PW.bob);
      expect(out).not.toContain('not the password');
      expect(out).toMatch(/[; ]echo[; ]/); // stty -a: echo is on again
      expect(out).not.toMatch(/-echo[; ]/);
    } finally {
      pty.kill();
    }
  });

  // Issue 15 item 7: Ctrl-C at the prompt (a key in raw mode, not SIGINT) exits 130 like any
  // interrupted command, and the terminal echoes again.
  it('Ctrl-C at the password prompt exits 130 with the echo restored', async () => {
    const { CONDUIT_PASSWORD: _pw, ...noPassword } = env('bob');
    const pty = runCliOnPty(['receive', groupId, '--out', dir, '--timeout', '2'], noPassword, { after: 'stty -a' });
    try {
      await pty.waitFor(/Password \[input is masked\]$/);
      pty.write('half typed\u0003');
      expect(await pty.exited).toBe(130);
      expect(pty.output()).toContain('interrupted');
      expect(pty.output()).not.toContain('half typed');
      expect(pty.output()).toMatch(/[; ]echo[; ]/);
    } finally {
      pty.kill();
    }
  });

  // Issue 11 item 11 (last: it removes bob): a running receive learns it was removed and stops.
  it('a removed member’s running receive stops with REMOVED_FROM_GROUP and exit 3', async () => {
    const inbox = join(dir, 'inbox-removed');
    await mkdir(inbox);
    const running = runCli(['receive', groupId, '--out', inbox, '--timeout', '60'], {
      ...env('bob'),
      CONDUIT_MEMBERSHIP_CHECK_SECONDS: '1',
    });
    await new Promise((r) => setTimeout(r, 3000)); // receiving (its first check found bob listed)
    const alice = await ConduitClient.open({
      ...clientOn(stack, join(dir, 'alice-home'), 'alice'),
      keyPassword: async () => PW.alice,
    });
    const removedAt = Date.now();
    try {
      await alice.removeMember(groupId, 'bob');
    } finally {
      await alice.close();
    }
    const r = await running;
    expect(r.stderr).toContain(`error REMOVED_FROM_GROUP: bob was removed from group ${groupId}`);
    expect(r.stderr).toContain('receiving stopped.');
    expect(r.stderr).toContain("hint: you cannot read the group's new files any more");
    expect(r.code).toBe(3);
    expect(Date.now() - removedAt).toBeLessThan(20_000); // not the 60 s timeout
  });
});
