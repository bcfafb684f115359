import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Issue 11 item 4: `conduit stack up` binds fixed ports from its base, and the CLI finds the
// running stack without exported variables, across a restart of the stack on the same data.
const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

let home: string;
let base: number;
let stack: ChildProcess | undefined;
// No CONDUIT_* variable from the caller's shell: the lookup is what is tested.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CONDUIT_')));

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

/** A base with its 4 ports free, away from the default (another stack may run there). */
async function freeBase(): Promise<number> {
  for (;;) {
    const candidate = 20_000 + Math.floor(Math.random() * 20_000);
    const free = await Promise.all([0, 1, 2, 3].map((i) => isFree(candidate + i)));
    if (free.every(Boolean)) return candidate;
  }
}

/** Starts `stack up` and resolves with its --json output once it is ready. */
async function stackUp(): Promise<{ clientEnv: Record<string, string> }> {
  const child = spawn(process.execPath, [CLI, '--home', home, '--json', 'stack', 'up', '--port', String(base)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stack = child;
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as { clientEnv: Record<string, string> });
    });
    child.once('exit', (code) => reject(new Error(`stack up exited ${code}: ${stderr}`)));
  });
}

async function stackDown(): Promise<number | null> {
  const child = stack!;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

const cli = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const cliEnv = { ...env, CONDUIT_PASSWORD: 'alice-secret-123' };
    execFile(
      process.execPath,
      [CLI, '--home', home, '--json', ...args],
      { env: cliEnv, timeout: 60_000 },
      (err, so, se) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: so, stderr: se }),
    );
  });

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'conduit-stack-up-'));
  base = await freeBase();
});

afterAll(async () => {
  if (stack && stack.exitCode === null) await stackDown();
  await rm(home, { recursive: true, force: true });
});

describe('conduit stack up', () => {
  it('binds fixed ports and is found by the CLI with nothing exported, across a restart', async () => {
    const first = await stackUp();
    expect(first.clientEnv).toMatchObject({
      CONDUIT_SERVER_URL: `http://127.0.0.1:${base}`,
      CONDUIT_VIRGIL_API_URL: `http://127.0.0.1:${base + 1}`,
      CONDUIT_TWILSOCK_URI: expect.stringMatching(new RegExp(`^ws://127\\.0\\.0\\.1:${base + 2}/`)),
    });
    const settings = join(home, 'devstack', 'stack.json');
    expect((await stat(settings)).mode & 0o777).toBe(0o600);

    const registered = await cli(['--as', 'alice', 'register']);
    expect(registered.code, registered.stderr).toBe(0);

    // A second stack on the same ports is refused up front, naming the port.
    const clash = await cli(['stack', 'up', '--port', String(base), '--data', join(home, 'other')]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain(`Port ${base} is in use`);

    expect(await stackDown()).toBe(0);
    await expect(stat(settings)).rejects.toMatchObject({ code: 'ENOENT' });
    const down = await cli(['--as', 'alice', 'device', 'ls']);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/No server/);

    const second = await stackUp();
    expect(second.clientEnv).toEqual(first.clientEnv);
    const devices = await cli(['--as', 'alice', 'device', 'ls']);
    expect(devices.code, devices.stderr).toBe(0);
    expect((JSON.parse(devices.stdout) as { devices: unknown[] }).devices).toHaveLength(1);
  }, 120_000);
});
