import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Ctrl-C (issue 11 item 6): the CLI says how to go on and exits 130, whether the command was
// winding down on the signal (demo) or had not taken it (a request waiting on a server).
const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const MESSAGE = 'interrupted: run the same command again to resume';

let home: string;
let hung: Server;
let hungUrl: string;
const sockets: Socket[] = [];
let connected: () => void = () => undefined;
/** Resolves once the next connection reaches the hung server. */
const expectConnection = () => new Promise<void>((resolve) => (connected = resolve));

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'conduit-interrupt-'));
  // Accepts connections and never answers: the command waits until interrupted.
  hung = createServer((socket) => {
    sockets.push(socket);
    connected();
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => hung.close(resolve));
  await rm(home, { recursive: true, force: true });
});

/**
 * Runs the CLI, sends SIGINT once the command is mid-work (`ready`: a condition, never a fixed
 * delay, which a fast machine outruns and a loaded one undercuts), and waits for the exit.
 */
async function interrupt(args: string[], ready: (stdout: () => string) => Promise<void>) {
  const child = spawn(process.execPath, [CLI, '--home', home, ...args], {
    env: { ...process.env, CONDUIT_PASSWORD: 'alice-secret-1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let interrupted = false;
  const early = exited.then((code) => {
    if (!interrupted) throw new Error(`the command exited (${code}) before it was interrupted: ${stderr}`);
  });
  await Promise.race([ready(() => stdout), early]);
  interrupted = true;
  child.kill('SIGINT');
  const code = await exited;
  return { code, stderr, stdout };
}

describe('Ctrl-C', () => {
  it('while a command waits on the server: the resume line and exit 130', async () => {
    // Interrupted once its request reached the server that never answers.
    const connection = expectConnection();
    const run = await interrupt(['--server', hungUrl, '--as', 'alice', 'register'], () => connection);
    expect(run.code).toBe(130);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(MESSAGE);
    expect(run.stderr).not.toMatch(/error CONFIG|hint:/);
  });

  it('while a command winds down on the signal (the demo stops its stack): the same', async () => {
    // Interrupted once the demo's stack is up: it is then registering, sending and receiving.
    const run = await interrupt(['demo'], (stdout) => until(() => /local stack started/.test(stdout())));
    expect(run.code).toBe(130);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(MESSAGE);
    expect(run.stderr).not.toMatch(/error CONFIG|hint:/);
  }, 60_000);
});

/** Resolves once `check` holds (checked every 20 ms). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
}
