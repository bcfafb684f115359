import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Issue 11: every command of the README works exactly as written on a fresh clone. The test clones
// the committed tree, runs the quick start's first command (`npm ci && npm run demo`) and then the
// "Using the CLI" block line by line in a shell, from the clone, with a HOME of its own. Only the
// placeholders are filled in (`<groupId>`, `<pointerId>` with what earlier lines printed) and a
// `./report.pdf` is put in place; the prompts those lines would show get the password through
// CONDUIT_PASSWORD, and the stack's base port comes from CONDUIT_STACK_PORT so that it cannot
// collide with a stack a developer is running on the default ports.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IDS = /\b[0-9a-f]{32}\b/;

interface Run {
  code: number | null;
  out: string;
}

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The shell lines of the first ```sh block after `heading`, comments and blank lines dropped. */
function codeBlock(readme: string, heading: string): string[] {
  const from = readme.indexOf(heading);
  const start = readme.indexOf('```sh\n', from) + '```sh\n'.length;
  const end = readme.indexOf('```', start);
  return readme
    .slice(start, end)
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

async function freeBasePort(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all([0, 1, 2, 3].map((i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe("the README's commands on a fresh clone", () => {
  let dir: string;
  let clone: string;
  let env: NodeJS.ProcessEnv;
  let stack: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-readme-'));
    clone = join(dir, 'conduit');
    const home = join(dir, 'home');
    await mkdir(home);
    // npm's cache stays where it is (a fresh machine fills it with the first `npm ci`).
    env = {
      ...process.env,
      HOME: home,
      npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? home, '.npm'),
      CONDUIT_STACK_PORT: String(await freeBasePort()),
    };
    for (const name of Object.keys(env)) {
      // Nothing of the surrounding session may leak in: the CLI must find the stack by itself.
      if (name.startsWith('CONDUIT_') && name !== 'CONDUIT_STACK_PORT') delete env[name];
      if (name.startsWith('VITEST') || name === 'NODE_OPTIONS') delete env[name];
    }
    const cloned = await sh(`git clone --quiet ${JSON.stringify(ROOT)} ${JSON.stringify(clone)}`, dir, env, 60_000);
    expect(cloned.code, cloned.out).toBe(0);
  }, 120_000);

  afterAll(async () => {
    // npm and the CLI under it are in the shell's process group: Ctrl-C reaches all of them.
    if (stack?.pid !== undefined && stack.exitCode === null) {
      process.kill(-stack.pid, 'SIGINT');
      await new Promise((r) => stack?.once('close', r));
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('the quick start is two commands; the first installs and runs the demo', async () => {
    const readme = await readFile(join(clone, 'README.md'), 'utf8');
    const quick = codeBlock(readme, '## Quick start');
    expect(quick).toEqual(['npm ci && npm run demo', 'npm test']);
    const run = await sh(
      quick[0]!.replace('npm ci', 'npm ci --prefer-offline --no-audit --no-fund'),
      clone,
      env,
      600_000,
    );
    expect(run.code, run.out.slice(-3000)).toBe(0);
    expect(run.out).toMatch(/demo passed/);
  }, 660_000);

  it('every "Using the CLI" line works as written, npx conduit included', async () => {
    const readme = await readFile(join(clone, 'README.md'), 'utf8');
    const [first, ...lines] = codeBlock(readme, '## Using the CLI');
    expect(first).toBe('npm run stack');

    stack = spawn('bash', ['-c', first!], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stackOut = '';
    stack.stdout?.on('data', (d: Buffer) => (stackOut += d.toString()));
    stack.stderr?.on('data', (d: Buffer) => (stackOut += d.toString()));
    const settings = join(env.HOME!, '.conduit', 'devstack', 'stack.json');
    const deadline = Date.now() + 120_000;
    while (
      !(await readFile(settings).then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline || stack.exitCode !== null) throw new Error(`the stack did not start:\n${stackOut}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    const sent = randomBytes(64 * 1024);
    await writeFile(join(clone, 'report.pdf'), sent);
    const passwords: Record<string, string> = { alice: 'alice-secret-1', bob: 'bob-secret-12' };
    const values: Record<string, string> = {};
    for (const line of lines) {
      const who = /--as (\w+)/.exec(line)?.[1] ?? '';
      const command = line.replace(/<(groupId|pointerId)>/g, (_m, name: string) => {
        const value = values[name];
        if (!value) throw new Error(`no ${name} printed before: ${line}`);
        return value;
      });
      const run = await sh(command, clone, { ...env, CONDUIT_PASSWORD: passwords[who] }, 120_000);
      expect(run.code, `${line}\n${run.out}`).toBe(0);
      if (line.includes('group create')) values.groupId = IDS.exec(run.out)?.[0] ?? '';
      if (line.includes(' send ')) values.pointerId = IDS.exec(run.out.replace(values.groupId ?? '', ''))?.[0] ?? '';
      if (line.includes('record get')) expect(run.out).toContain('penicillin');
    }
    const inbox = await readdir(join(clone, 'inbox'));
    expect(inbox).toEqual(['report.pdf']);
    expect((await readFile(join(clone, 'inbox', 'report.pdf'))).equals(sent)).toBe(true);
  }, 600_000);
});
