/* global process, Buffer, performance, URL */
// Issue 3's benchmark, in one run:
//  1. container v1 encrypt/decrypt (stream API, 1 MiB segments) next to raw Node AES-256-GCM on the
//     same bytes and chunking (a fresh nonce and tag per 1 MiB), and next to E3Kit group.encrypt /
//     group.decrypt chunked at its 29,915-byte message limit (a real group on the local directory);
//  2. send + receive of a 256 MiB file through the local stack (ConduitClient) next to a plain,
//     unencrypted S3 PutObject + GetObject of the same bytes against the same s3rver;
//  3. peak RSS of the `conduit` CLI sending and receiving 1 GiB, each in its own process.
// Every row says its target and whether it was met; nothing is averaged away.
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, startS3 } from '@conduit/devstack';
import { createDecryptStream, createEncryptStream } from '@conduit/shared';

export const name = 'large-file';
export const description = 'container vs AES-GCM vs E3Kit, 256 MiB end to end vs plain S3, 1 GiB peak RSS';

const MiB = 1024 * 1024;
const CRYPTO_BYTES = Number(process.env.BENCH_CRYPTO_MIB ?? 256) * MiB;
const E3KIT_BYTES = Number(process.env.BENCH_E3KIT_MIB ?? 32) * MiB;
const E2E_BYTES = Number(process.env.BENCH_E2E_MIB ?? 256) * MiB;
const RSS_BYTES = Number(process.env.BENCH_RSS_MIB ?? 1024) * MiB;
/** E3Kit's node build refuses group messages above this many bytes. */
const E3KIT_CHUNK = 29_915;
const CLI = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));

const mibps = (bytes, ms) => bytes / MiB / (ms / 1000);
const fmt = (v) => `${v.toFixed(0)} MiB/s`;
const ratio = (x) => `${x.toFixed(2)}x`;

export async function run(log) {
  const rows = [];
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-large-'));
  let stack;
  const clients = [];
  const stops = [];
  try {
    // --- 1. crypto throughput (in memory, 1 MiB chunks, best of 3 runs each) ---
    const data = randomBytes(CRYPTO_BYTES);
    const key = randomBytes(32);
    const chunks = Array.from({ length: CRYPTO_BYTES / MiB }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB));
    const best = async (fn) => {
      let min = Infinity;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await fn();
        min = Math.min(min, performance.now() - t);
      }
      return min;
    };
    const rawSealed = [];
    const rawEnc = await best(() => {
      rawSealed.length = 0;
      for (const chunk of chunks) {
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', key, iv);
        const ct = c.update(chunk);
        c.final();
        rawSealed.push([iv, ct, c.getAuthTag()]);
      }
    });
    const rawDec = await best(() => {
      for (const [iv, ct, tag] of rawSealed) {
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.setAuthTag(tag);
        d.update(ct);
        d.final();
      }
    });
    rawSealed.length = 0;
    let stored = [];
    const containerEnc = await best(async () => {
      stored = [];
      const enc = createEncryptStream({ contentKey: key });
      await pipeline(Readable.from(chunks), enc, collect(stored));
    });
    const containerDec = await best(async () => {
      let n = 0;
      const dec = createDecryptStream({ contentKey: key, plainLength: CRYPTO_BYTES });
      await pipeline(
        Readable.from(stored),
        dec,
        count((len) => (n += len)),
      );
      if (n !== CRYPTO_BYTES) throw new Error('container round trip lost bytes');
    });
    stored = [];
    log(`raw AES-256-GCM ${fmt(mibps(CRYPTO_BYTES, rawEnc))} enc, ${fmt(mibps(CRYPTO_BYTES, rawDec))} dec`);
    log(`container ${fmt(mibps(CRYPTO_BYTES, containerEnc))} enc, ${fmt(mibps(CRYPTO_BYTES, containerDec))} dec`);

    // --- E3Kit: a real group on the local Virgil directory ---
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    const open = async (identity) => {
      const c = await ConduitClient.open({
        keyPassword: async () => `${identity} bench password`,
        serverUrl: stack.serverUrl,
        home: join(dir, 'home'),
        identity,
        virgilApiUrl: stack.virgilApiUrl,
        virgilServicePublicKey: stack.virgilServicePublicKey,
        twilsockUri: stack.twilsockUri,
      });
      clients.push(c);
      return c;
    };
    const alice = await open('alice');
    const bob = await open('bob');
    await alice.register('alice bench password');
    await bob.register('bob bench password');
    const { groupId } = await alice.createGroup(['bob']);
    // The SDK's own group ciphers (GroupKeys: E3Kit group.encrypt / group.decrypt with the sender's card).
    const encrypt = await (await alice['session'].keys()).encryptorFor(groupId);
    const decrypt = await (await bob['session'].keys()).decryptorFor(groupId, 'alice');
    const e3Chunks = [];
    for (let at = 0; at < E3KIT_BYTES; at += E3KIT_CHUNK)
      e3Chunks.push(data.subarray(at, Math.min(E3KIT_BYTES, at + E3KIT_CHUNK)));
    const sealed = [];
    let t = performance.now();
    for (const chunk of e3Chunks) sealed.push(await encrypt(chunk));
    const e3Enc = performance.now() - t;
    t = performance.now();
    for (const s of sealed) await decrypt(s);
    const e3Dec = performance.now() - t;
    sealed.length = 0;
    log(
      `e3kit ${fmt(mibps(E3KIT_BYTES, e3Enc))} enc, ${fmt(mibps(E3KIT_BYTES, e3Dec))} dec (${E3KIT_BYTES / MiB} MiB sample)`,
    );

    const cryptoRows = [
      ['encrypt', mibps(CRYPTO_BYTES, containerEnc), mibps(CRYPTO_BYTES, rawEnc), mibps(E3KIT_BYTES, e3Enc)],
      ['decrypt', mibps(CRYPTO_BYTES, containerDec), mibps(CRYPTO_BYTES, rawDec), mibps(E3KIT_BYTES, e3Dec)],
    ];
    for (const [op, container, raw, e3] of cryptoRows) {
      rows.push({
        metric: `container ${op} vs raw AES-256-GCM`,
        measured: `${fmt(container)} vs ${fmt(raw)} = ${ratio(container / raw)}`,
        target: '>= 0.80x',
        pass: container / raw >= 0.8,
      });
      rows.push({
        metric: `container ${op} vs E3Kit group (29,915 B chunks)`,
        measured: `${fmt(container)} vs ${fmt(e3)} = ${ratio(container / e3)}`,
        target: '>= 15x',
        pass: container / e3 >= 15,
      });
    }

    // --- 2. end to end through the local stack vs plain S3 put + get ---
    const source = join(dir, 'e2e.bin');
    const sourceSha = await writeRandomFile(source, E2E_BYTES);
    t = performance.now();
    const sent = await alice.sendFile(groupId, source);
    const sendMs = performance.now() - t;
    t = performance.now();
    const got = await bob.receiveNext(groupId, { outDir: join(dir, 'inbox'), timeoutMs: 300_000 });
    const recvMs = performance.now() - t;
    if (got.pointerId !== sent.pointerId || (await sha256File(got.path)) !== sourceSha) {
      throw new Error('the end-to-end file did not arrive intact');
    }
    await rm(got.path);

    // Plain S3: one PutObject streamed from the file, one GetObject streamed to a file (the SDK's
    // defaults; single requests, no multipart), same bytes, no encryption, against an s3rver of the
    // same build in its own process, as the stack runs it (the stack does not expose its own).
    const plainS3 = await startS3({ directory: join(dir, 'plain-s3') });
    stops.push(plainS3.close);
    const s3 = new S3Client({
      endpoint: plainS3.endpoint,
      region: plainS3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: plainS3.accessKeyId, secretAccessKey: plainS3.secretAccessKey },
    });
    const objectKey = `bench/plain-${randomBytes(8).toString('hex')}`;
    t = performance.now();
    await s3.send(
      new PutObjectCommand({
        Bucket: plainS3.bucket,
        Key: objectKey,
        Body: createReadStream(source),
        ContentLength: E2E_BYTES,
      }),
    );
    const putMs = performance.now() - t;
    t = performance.now();
    const obj = await s3.send(new GetObjectCommand({ Bucket: plainS3.bucket, Key: objectKey }));
    await pipeline(obj.Body, createWriteStream(join(dir, 'plain.bin')));
    const getMs = performance.now() - t;
    s3.destroy();
    const e2e = mibps(E2E_BYTES * 2, sendMs + recvMs);
    const plain = mibps(E2E_BYTES * 2, putMs + getMs);
    log(
      `end to end: send ${fmt(mibps(E2E_BYTES, sendMs))}, receive ${fmt(mibps(E2E_BYTES, recvMs))}; ` +
        `plain S3: put ${fmt(mibps(E2E_BYTES, putMs))}, get ${fmt(mibps(E2E_BYTES, getMs))}`,
    );
    rows.push({
      metric: `${E2E_BYTES / MiB} MiB send + receive vs plain S3 put + get`,
      measured: `${fmt(e2e)} vs ${fmt(plain)} = ${ratio(e2e / plain)}`,
      target: '>= 0.70x',
      pass: e2e / plain >= 0.7,
    });
    for (const c of clients.splice(0)) await c.close();
    await rm(source);
    await rm(join(dir, 'plain.bin'));

    // --- 3. peak RSS of the CLI, 1 GiB each way, each transfer in its own process ---
    const preload = join(dir, 'report-rss.cjs');
    await writeFile(
      preload,
      // VmHWM, not getrusage's maxRSS: Linux carries ru_maxrss over fork + exec, so a child's maxRSS
      // is at least its parent's RSS at spawn time; VmHWM belongs to the new process image alone.
      "const fs = require('fs'); process.on('exit', () => fs.writeSync(2, `\\nmaxrss-kib=${/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]}\\n`));\n",
    );
    const big = join(dir, 'big.bin');
    await writeRandomFile(big, RSS_BYTES);
    const env = { ...process.env, ...stack.clientEnv, CONDUIT_HOME: join(dir, 'home') };
    const send = await cli(preload, { ...env, CONDUIT_PASSWORD: 'alice bench password' }, [
      '--as',
      'alice',
      'send',
      groupId,
      big,
    ]);
    const recv = await cli(preload, { ...env, CONDUIT_PASSWORD: 'bob bench password' }, [
      '--as',
      'bob',
      'receive',
      groupId,
      '--once',
      '--timeout',
      '600',
      '--out',
      join(dir, 'big-in'),
      '--mkdir',
    ]);
    const received = await readdir(join(dir, 'big-in'));
    if (received.length !== 1) throw new Error('the 1 GiB file was not received');
    for (const [what, r] of [
      ['send', send],
      ['receive', recv],
    ]) {
      const peak = r.maxRssKiB / 1024;
      log(`${what} ${RSS_BYTES / MiB} MiB: ${(r.ms / 1000).toFixed(1)} s, peak RSS ${peak.toFixed(0)} MiB`);
      rows.push({
        metric: `peak RSS, CLI ${what} of ${RSS_BYTES / MiB} MiB`,
        measured: `${peak.toFixed(0)} MiB`,
        target: '< 150 MiB',
        pass: peak < 150,
      });
    }
    return rows;
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const stop of stops) await stop().catch(() => undefined);
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function collect(into) {
  return new Writable({
    write(chunk, _enc, cb) {
      into.push(chunk);
      cb();
    },
  });
}

function count(onBytes) {
  return new Writable({
    write(chunk, _enc, cb) {
      onBytes(chunk.length);
      cb();
    },
  });
}

/** Runs the CLI with the RSS-reporting preload; resolves with its wall time and peak RSS (KiB). */
function cli(preload, env, args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--require', preload, CLI, '--json', ...args], { env });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const rss = /maxrss-kib=(\d+)/.exec(stderr);
      if (code !== 0 || !rss) reject(new Error(`conduit ${args[2]} failed (${code}): ${stderr}`));
      else resolve({ ms: performance.now() - started, maxRssKiB: Number(rss[1]) });
    });
  });
}

/** Pseudo-random bytes (AES-256-CTR keystream), streamed to disk; returns their SHA-256. */
async function writeRandomFile(path, size) {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0; written < size; written += MiB) {
    const chunk = cipher.update(zeros.subarray(0, Math.min(MiB, size - written)));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}
