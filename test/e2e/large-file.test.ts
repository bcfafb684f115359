import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { MAX_ENVELOPE_CHARS, objectKeyOf } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

/**
 * Large files through the real local stack, each transfer in its own `conduit` CLI process:
 * constant memory (peak RSS of a 1 GiB send and receive), byte-identical delivery, and a send
 * that is SIGKILLed mid-upload and then resumed (or restarted when the file changed meanwhile).
 */
const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
const MiB = 1024 * 1024;
const PASSWORDS = { alice: 'alice password 1', bob: 'bob password 12' };
/**
 * Issue 3: < 150 MiB per process. Measured on the 2-core machine kind, 1 GiB: send 107-115 MiB,
 * receive 124-143 MiB (a 1 MiB transfer peaks at ~105-120 MiB: Node + E3Kit's WASM + zod, and
 * twilio-sync on receive). What a transfer adds is short-lived socket chunks and cipher slices
 * that V8 collects every few MiB (packages/cli/src/process/v8-flags.ts, transfer/young-gc.ts), not a size-proportional
 * live set, so this bound also catches any regression towards size-proportional memory.
 */
const RSS_LIMIT_KIB = 150 * 1024;

describe('end to end: large files', () => {
  let dir: string;
  let stack: LocalStack;
  let groupId: string;
  let preload: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-large-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    // Reports the process's peak RSS on exit (the CLI exits through process.exit).
    preload = join(dir, 'report-rss.cjs');
    await writeFile(
      preload,
      // VmHWM, not getrusage's maxRSS: Linux carries ru_maxrss over fork + exec, so a child's maxRSS
      // is at least its parent's RSS at spawn time; VmHWM belongs to the new process image alone.
      "const fs = require('fs'); process.on('exit', () => fs.writeSync(2, `\\nmaxrss-kib=${/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]}\\n`));\n",
    );
    const alice = await openClient('alice');
    const bob = await openClient('bob');
    try {
      await alice.register(PASSWORDS.alice);
      await bob.register(PASSWORDS.bob);
      groupId = (await alice.createGroup(['bob'])).groupId;
    } finally {
      // The CLI processes below use the same homes: E3Kit's stores must be released first.
      await alice.close();
      await bob.close();
    }
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const openClient = (identity: keyof typeof PASSWORDS) =>
    ConduitClient.open({
      ...clientOn(stack, join(dir, 'home'), identity),
      keyPassword: async () => PASSWORDS[identity],
    });

  const env = () => ({ ...process.env, ...stack.clientEnv, CONDUIT_HOME: join(dir, 'home') });

  /** Runs the CLI; resolves with stdout, stderr, exit code and peak RSS (KiB). */
  function cli(args: string[], opts: { onSpawn?: (kill: () => void) => void } = {}) {
    return new Promise<{ stdout: string; stderr: string; code: number | null; maxRssKiB: number }>(
      (resolve, reject) => {
        // The CLI unlocks the identity's key store with its password.
        const password = PASSWORDS[args[args.indexOf('--as') + 1] as keyof typeof PASSWORDS];
        const child = spawn(process.execPath, ['--require', preload, CLI, '--json', ...args], {
          env: { ...env(), CONDUIT_PASSWORD: password },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => {
          const rss = /maxrss-kib=(\d+)/.exec(stderr);
          resolve({ stdout, stderr, code, maxRssKiB: rss ? Number(rss[1]) : NaN });
        });
        opts.onSpawn?.(() => child.kill('SIGKILL'));
      },
    );
  }

  const json = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').at(-1) as string) as T;

  it('sends and receives 1 GiB byte-identical, each process within a size-independent peak RSS', async () => {
    const source = join(dir, 'big.bin');
    const sourceSha = await writePseudoRandomFile(source, 1024 * MiB);

    const t0 = Date.now();
    const send = await cli(['--as', 'alice', 'send', groupId, source]);
    const sendMs = Date.now() - t0;
    expect(send.code, send.stderr).toBe(0);
    const sent = json<{ pointerId: string; size: number }>(send.stdout);

    const out = join(dir, 'bob-inbox');
    const t1 = Date.now();
    const recv = await cli(['--as', 'bob', 'receive', groupId, '--once', '--timeout', '300', '--out', out, '--mkdir']);
    const receiveMs = Date.now() - t1;
    expect(recv.code, recv.stderr).toBe(0);
    const received = json<{ path: string; size: number; pointerId: string }>(recv.stdout);
    expect(received.pointerId).toBe(sent.pointerId);
    expect(received.size).toBe(1024 * MiB);
    expect(await sha256File(received.path)).toBe(sourceSha);
    // No partial files or download checkpoints are left behind.
    expect(await readdir(out)).toEqual(['big.bin']);

    console.log(
      `1 GiB: send ${sendMs} ms (${((1024 * 1000) / sendMs).toFixed(0)} MiB/s), peak RSS ${(send.maxRssKiB / 1024).toFixed(0)} MiB; ` +
        `receive ${receiveMs} ms (${((1024 * 1000) / receiveMs).toFixed(0)} MiB/s), peak RSS ${(recv.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
    expect(send.maxRssKiB).toBeLessThan(RSS_LIMIT_KIB);
    expect(recv.maxRssKiB).toBeLessThan(RSS_LIMIT_KIB);
    await rm(source);
    await rm(received.path);
  }, 180_000);

  it('resumes a send killed mid-upload, and starts over with a new object when the file changed', async () => {
    const source = join(dir, 'resume.bin');
    const sourceSha = await writePseudoRandomFile(source, 96 * MiB);
    const uploads = join(dir, 'home', 'alice', 'uploads');

    // 1. SIGKILL once two parts are recorded as uploaded.
    const killed = await cli(['--as', 'alice', 'send', '--concurrency', '1', groupId, source], {
      onSpawn: (kill) => void waitForDoneParts(uploads, 2).then(kill),
    });
    expect(killed.code).toBeNull();
    const firstState = await readState(uploads);

    // 2. --resume continues the same object.
    const resumed = await cli(['--as', 'alice', 'send', '--resume', groupId, source]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const sent = json<{ objectId: string; resumed: boolean; pointerId: string }>(resumed.stdout);
    expect(sent.resumed).toBe(true);
    expect(sent.objectId).toBe(firstState.objectId);
    expect(await readdir(uploads)).toEqual([]);

    const out = join(dir, 'bob-resume');
    const recv = await cli(['--as', 'bob', 'receive', groupId, '--once', '--timeout', '120', '--out', out, '--mkdir']);
    expect(recv.code, recv.stderr).toBe(0);
    expect(await sha256File(json<{ path: string }>(recv.stdout).path)).toBe(sourceSha);

    // 3. Killed again, then the file changes (same size, same mtime): a new object and key.
    const again = await cli(['--as', 'alice', 'send', '--concurrency', '1', groupId, source], {
      onSpawn: (kill) => void waitForDoneParts(uploads, 2).then(kill),
    });
    expect(again.code).toBeNull();
    const secondState = await readState(uploads);
    const data = await readFile(source);
    data[10] = (data[10] as number) ^ 0xff;
    await writeFile(source, data);
    await utimes(source, new Date(), new Date(secondState.mtimeMs));
    const fresh = await cli(['--as', 'alice', 'send', groupId, source]);
    expect(fresh.code, fresh.stderr).toBe(0);
    const freshSent = json<{ objectId: string; resumed: boolean }>(fresh.stdout);
    expect(freshSent.resumed).toBe(false);
    expect(freshSent.objectId).not.toBe(secondState.objectId);
    // A new salt in the stored header: never the old object's nonces.
    const header = (await stack.inspect.readObject(objectKeyOf(groupId, freshSent.objectId))).subarray(0, 42);
    expect(header.equals(Buffer.from(secondState.header, 'base64'))).toBe(false);
    const recv2 = await cli(['--as', 'bob', 'receive', groupId, '--once', '--timeout', '120', '--out', out]);
    expect(recv2.code, recv2.stderr).toBe(0);
    expect((await readFile(json<{ path: string }>(recv2.stdout).path)).equals(data)).toBe(true);
  }, 180_000);

  it('seals a maximal envelope (longest name and type) within MAX_ENVELOPE_CHARS', async () => {
    const alice = await openClient('alice');
    try {
      const source = join(dir, 'tiny.bin');
      await writeFile(source, randomBytes(1000));
      // 255 three-byte UTF-8 characters and a 127-character media type: the largest FileMeta.
      const name = '\u8a3a'.repeat(255);
      const type = `application/${'x'.repeat(127 - 'application/'.length)}`;
      const sent = await alice.sendFile(groupId, source, { name, type });
      expect(sent.pointer.envelope.length).toBeLessThanOrEqual(MAX_ENVELOPE_CHARS);
      console.log(`maximal envelope: ${sent.pointer.envelope.length} of ${MAX_ENVELOPE_CHARS} base64 characters`);
      // The receiver can read it back through random access.
      const bob = await openClient('bob');
      try {
        const bytes = await bob.readRange(sent.pointer, 10, 20);
        expect(bytes.equals((await readFile(source)).subarray(10, 20))).toBe(true);
      } finally {
        await bob.close();
      }
    } finally {
      await alice.close();
    }
  });
});

/** Deterministic pseudo-random bytes (AES-256-CTR keystream), written and hashed as a stream. */
async function writePseudoRandomFile(path: string, size: number): Promise<string> {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0; written < size; written += MiB) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(MiB, size - written)));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readState(dir: string): Promise<{ objectId: string; header: string; mtimeMs: number }> {
  const [file] = await readdir(dir);
  const first = (await readFile(join(dir, file as string), 'utf8')).split('\n')[0] as string;
  return JSON.parse(first) as { objectId: string; header: string; mtimeMs: number };
}

async function waitForDoneParts(dir: string, parts: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const files = await readdir(dir).catch(() => []);
    for (const file of files) {
      if (!file.endsWith('.jsonl')) continue;
      const text = await readFile(join(dir, file), 'utf8').catch(() => '');
      if (text.split('\n').filter((l) => l.includes('"done"')).length >= parts) return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the upload did not progress');
}
