/* global process, Buffer, performance, URL */
// Issues 3 and 14's benchmark, in one run:
//  1. container v1 segment encrypt/decrypt (1 MiB segments, CPU time) on this machine's Node and on
//     Node 22 (the server image's) next to `openssl speed -evp aes-256-gcm` on 1 MiB blocks, each
//     in a process pinned to the same core, rounds interleaved (crypto-speed.mjs), and next to
//     E3Kit group.encrypt / group.decrypt chunked at its 29,915-byte message limit (a real group on
//     the local directory);
//  2. send + receive of a 256 MiB file through the local stack (ConduitClient) next to a plain,
//     unencrypted S3 PutObject + GetObject of the same bytes against an s3rver of the same build,
//     in interleaved rounds after an untimed warm-up of both, alternating which goes first; each
//     round also times a plain S3 multipart upload of the file cut as a send cuts it;
//  3. peak RSS of the `conduit` CLI sending and receiving 1 GiB, each in its own process.
// Ratios are taken per round (the plain-S3 denominator swings 2x between rounds on a shared
// machine) and reported as the median with every round's ratio beside it: nothing is hidden.
import { spawn } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, startS3 } from '@conduit/devstack';
import { containerSpeedOnOneCore, CORE, node22, opensslSpeed } from './crypto-speed.mjs';

export const name = 'large-file';
export const description = 'container vs openssl speed vs E3Kit, 256 MiB end to end vs plain S3, 1 GiB peak RSS';

const MiB = 1024 * 1024;
const CRYPTO_BYTES = Number(process.env.BENCH_CRYPTO_MIB ?? 256) * MiB;
const CRYPTO_ROUNDS = Number(process.env.BENCH_CRYPTO_ROUNDS ?? 3);
const E3KIT_BYTES = Number(process.env.BENCH_E3KIT_MIB ?? 32) * MiB;
const E2E_BYTES = Number(process.env.BENCH_E2E_MIB ?? 256) * MiB;
const E2E_ROUNDS = Number(process.env.BENCH_E2E_ROUNDS ?? 5);
const WARMUP_BYTES = Number(process.env.BENCH_E2E_WARMUP_MIB ?? 16) * MiB;
/** 0 skips the peak-RSS runs. */
const RSS_BYTES = Number(process.env.BENCH_RSS_MIB ?? 1024) * MiB;
/** Part size of the plain multipart upload: a resumable send's default. */
const MULTIPART_PART = 8 * MiB;
/** E3Kit's node build refuses group messages above this many bytes. */
const E3KIT_CHUNK = 29_915;
const CLI = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));

const mibps = (bytes, ms) => bytes / MiB / (ms / 1000);
const fmt = (v) => `${v.toFixed(0)} MiB/s`;
const ratio = (x) => `${x.toFixed(2)}x`;
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
/** "median 0.91x (0.88, 0.95, 0.91)": the per-round ratios in round order. */
const ratios = (xs) => `median ${ratio(median(xs))} (${xs.map((x) => x.toFixed(2)).join(', ')})`;
const load = () => `load average ${loadavg()[0].toFixed(1)}`;
const cpuMsSince = (before) => {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
};

export async function run(log) {
  const rows = [];
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-large-'));
  let stack;
  const clients = [];
  const stops = [];
  try {
    // --- 1. crypto throughput on one core: openssl speed and the container on two Nodes, interleaved ---
    const data = randomBytes(Math.max(E3KIT_BYTES, MiB));
    const shipped = await node22();
    const nodes = [
      { key: 'machine', node: process.execPath, version: process.version },
      { key: 'shipped', ...shipped },
    ];
    if (shipped.node === process.execPath) nodes.pop();
    const crypto = Object.fromEntries(nodes.map((n) => [n.key, { encrypt: [], decrypt: [] }]));
    for (let round = 1; round <= CRYPTO_ROUNDS; round++) {
      const openssl = { encrypt: await opensslSpeed('encrypt'), decrypt: await opensslSpeed('decrypt') };
      // Alternate which Node goes first: neither always gets the fresher machine.
      const order = round % 2 ? nodes : [...nodes].reverse();
      const parts = [];
      for (const n of order) {
        const container = await containerSpeedOnOneCore(CRYPTO_BYTES, n.node);
        for (const op of ['encrypt', 'decrypt'])
          crypto[n.key][op].push({ container: container[op], openssl: openssl[op] });
        parts.push(
          `container on ${n.version} ${fmt(container.encrypt)} enc, ${fmt(container.decrypt)} dec = ` +
            `${ratio(container.encrypt / openssl.encrypt)} enc, ${ratio(container.decrypt / openssl.decrypt)} dec ` +
            `(page faults/MiB ${container.faultsPerMiB.encrypt.toFixed(0)} enc, ${container.faultsPerMiB.decrypt.toFixed(0)} dec; ` +
            `first pass ${fmt(container.coldEncrypt)} enc)`,
        );
      }
      log(
        `round ${round}: openssl ${fmt(openssl.encrypt)} enc, ${fmt(openssl.decrypt)} dec; ${parts.join('; ')} ` +
          `(CPU time, all pinned to CPU ${CORE}, 1 MiB segments; ${load()})`,
      );
    }

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
    let cpu = process.cpuUsage();
    for (const chunk of e3Chunks) sealed.push(await encrypt(chunk));
    const e3Enc = cpuMsSince(cpu);
    cpu = process.cpuUsage();
    for (const s of sealed) await decrypt(s);
    const e3Dec = cpuMsSince(cpu);
    sealed.length = 0;
    log(
      `e3kit ${fmt(mibps(E3KIT_BYTES, e3Enc))} enc, ${fmt(mibps(E3KIT_BYTES, e3Dec))} dec (${E3KIT_BYTES / MiB} MiB sample)`,
    );

    const e3 = { encrypt: mibps(E3KIT_BYTES, e3Enc), decrypt: mibps(E3KIT_BYTES, e3Dec) };
    for (const op of ['encrypt', 'decrypt']) {
      for (const n of nodes) {
        const rounds = crypto[n.key][op];
        const perRound = rounds.map((r) => r.container / r.openssl);
        // The target is judged on the Node the server image ships (Dockerfile: Node 22 LTS).
        const judged = n.node === shipped.node;
        rows.push({
          metric: `container ${op} vs openssl speed AES-256-GCM, Node ${n.version}${judged ? ' (shipped)' : ''} (1 core, ${CRYPTO_ROUNDS} rounds)`,
          measured: `${fmt(median(rounds.map((r) => r.container)))} vs ${fmt(median(rounds.map((r) => r.openssl)))}, ${ratios(perRound)}`,
          target: judged ? '>= 0.50x' : '-',
          pass: !judged || median(perRound) >= 0.5,
        });
      }
      // E3Kit ran in this process: compare it with the container on the same Node.
      const container = median(crypto.machine[op].map((r) => r.container));
      rows.push({
        metric: `container ${op} vs E3Kit group (29,915 B chunks), Node ${process.version}`,
        measured: `${fmt(container)} vs ${fmt(e3[op])} = ${ratio(container / e3[op])}`,
        target: '>= 15x',
        pass: container / e3[op] >= 15,
      });
    }

    // --- 2. end to end through the local stack vs plain S3 put + get, rounds interleaved ---
    const source = join(dir, 'e2e.bin');
    const sourceSha = await writeRandomFile(source, E2E_BYTES);
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
    const inbox = join(dir, 'inbox');
    /**
     * Conduit send, then receive by the other member; ms of each, of the send's parts phase (until
     * the last part is stored) and its complete, and of the receive's download (until every segment
     * is verified and written; then the file is synced, published and acknowledged).
     */
    const conduit = async (path, sha) => {
      let t = performance.now();
      let partsAt = 0;
      let completeAt = 0;
      const onProgress = ({ phase, bytesDone, bytesTotal }) => {
        if (phase === 'uploading' && bytesDone === bytesTotal) partsAt ||= performance.now();
        if (phase === 'publishing') completeAt ||= performance.now();
      };
      const sent = await alice.sendFile(groupId, path, { onProgress });
      const send = performance.now() - t;
      const parts = partsAt - t;
      const complete = completeAt - partsAt;
      t = performance.now();
      let downloadedAt = 0;
      const onReceiveProgress = ({ phase }) => {
        if (phase === 'finishing') downloadedAt ||= performance.now();
      };
      const receiveCpu = process.cpuUsage();
      const got = await bob.receiveNext(groupId, { outDir: inbox, timeoutMs: 300_000, onProgress: onReceiveProgress });
      const receive = performance.now() - t;
      const receiveCpuMs = cpuMsSince(receiveCpu);
      const download = downloadedAt - t;
      if (got.pointerId !== sent.pointerId || (await sha256File(got.path)) !== sha) {
        throw new Error('the end-to-end file did not arrive intact');
      }
      await rm(got.path);
      return { send, receive, parts, complete, download, receiveCpuMs };
    };
    /** Plain S3 PutObject streamed from the file, then GetObject streamed to a file; ms of each. */
    const plain = async (path, bytes) => {
      const key = `bench/plain-${randomBytes(8).toString('hex')}`;
      let t = performance.now();
      await s3.send(
        new PutObjectCommand({ Bucket: plainS3.bucket, Key: key, Body: createReadStream(path), ContentLength: bytes }),
      );
      const send = performance.now() - t;
      t = performance.now();
      const cpu = process.cpuUsage();
      const obj = await s3.send(new GetObjectCommand({ Bucket: plainS3.bucket, Key: key }));
      await pipeline(obj.Body, createWriteStream(join(dir, 'plain.bin')));
      const receive = performance.now() - t;
      const receiveCpuMs = cpuMsSince(cpu);
      await rm(join(dir, 'plain.bin'));
      return { send, receive, receiveCpuMs };
    };
    /**
     * Plain S3 multipart upload of the file as a resumable send cuts it (8 MiB parts, 4 in flight,
     * no encryption); ms. What s3rver's multipart path itself costs, its complete's copy included.
     */
    const plainMultipart = async (path, bytes) => {
      const Bucket = plainS3.bucket;
      const Key = `bench/multipart-${randomBytes(8).toString('hex')}`;
      const t = performance.now();
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      const numbers = Array.from({ length: Math.ceil(bytes / MULTIPART_PART) }, (_, i) => i + 1);
      const etags = new Map();
      const next = numbers[Symbol.iterator]();
      const worker = async () => {
        for (const PartNumber of next) {
          const start = (PartNumber - 1) * MULTIPART_PART;
          const end = Math.min(bytes, start + MULTIPART_PART);
          const Body = createReadStream(path, { start, end: end - 1 });
          const part = new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ContentLength: end - start });
          etags.set(PartNumber, (await s3.send(part)).ETag);
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      const Parts = numbers.map((PartNumber) => ({ PartNumber, ETag: etags.get(PartNumber) }));
      await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }));
      return performance.now() - t;
    };
    // Warm-up, untimed: connections, JIT and both s3rvers' first writes.
    const warm = join(dir, 'warm.bin');
    const warmSha = await writeRandomFile(warm, WARMUP_BYTES);
    await conduit(warm, warmSha);
    await plain(warm, WARMUP_BYTES);
    await plainMultipart(warm, WARMUP_BYTES);
    await rm(warm);

    const per = { send: [], multipart: [], receive: [], total: [] };
    const totals = { e2e: 0, plain: 0 };
    for (let round = 1; round <= E2E_ROUNDS; round++) {
      // Odd rounds run Conduit first, even rounds plain S3 first: neither always gets the fresher machine.
      let ours;
      let theirs;
      let multipart;
      if (round % 2) {
        ours = await conduit(source, sourceSha);
        theirs = await plain(source, E2E_BYTES);
        multipart = await plainMultipart(source, E2E_BYTES);
      } else {
        multipart = await plainMultipart(source, E2E_BYTES);
        theirs = await plain(source, E2E_BYTES);
        ours = await conduit(source, sourceSha);
      }
      // Ratio of times = ratio of throughputs (same bytes): >= 1 is Conduit faster than plain S3.
      per.send.push(theirs.send / ours.send);
      per.multipart.push(multipart / ours.send);
      per.receive.push(theirs.receive / ours.receive);
      per.total.push((theirs.send + theirs.receive) / (ours.send + ours.receive));
      totals.e2e += ours.send + ours.receive;
      totals.plain += theirs.send + theirs.receive;
      log(
        `round ${round} (${round % 2 ? 'Conduit' : 'plain S3'} first): send ${fmt(mibps(E2E_BYTES, ours.send))}, ` +
          `receive ${fmt(mibps(E2E_BYTES, ours.receive))}; plain S3: put ${fmt(mibps(E2E_BYTES, theirs.send))}, ` +
          `get ${fmt(mibps(E2E_BYTES, theirs.receive))}, multipart put ${fmt(mibps(E2E_BYTES, multipart))}; ` +
          `ratios send ${ratio(per.send.at(-1))} (vs multipart ${ratio(per.multipart.at(-1))}), ` +
          `receive ${ratio(per.receive.at(-1))}, total ${ratio(per.total.at(-1))}; send = parts ` +
          `${ours.parts.toFixed(0)} ms + complete ${ours.complete.toFixed(0)} ms + the rest; receive = download ` +
          `${ours.download.toFixed(0)} ms + fsync, publish and ack ${(ours.receive - ours.download).toFixed(0)} ms; ` +
          `CPU of this process: receive ${ours.receiveCpuMs.toFixed(0)} ms, get ${theirs.receiveCpuMs.toFixed(0)} ms (${load()})`,
      );
    }
    s3.destroy();
    const e2e = mibps(E2E_BYTES * 2 * E2E_ROUNDS, totals.e2e);
    const plainRate = mibps(E2E_BYTES * 2 * E2E_ROUNDS, totals.plain);
    const size = `${E2E_BYTES / MiB} MiB`;
    rows.push(
      { metric: `${size} send vs plain S3 put, per round`, measured: ratios(per.send), target: '-', pass: true },
      {
        metric: `${size} send vs plain S3 multipart put (8 MiB x 4), per round`,
        measured: ratios(per.multipart),
        target: '-',
        pass: true,
      },
      { metric: `${size} receive vs plain S3 get, per round`, measured: ratios(per.receive), target: '-', pass: true },
      {
        metric: `${size} send + receive vs plain S3 put + get, per round (${E2E_ROUNDS} rounds)`,
        measured: `${ratios(per.total)}; all rounds ${fmt(e2e)} vs ${fmt(plainRate)}`,
        target: '>= 0.90x',
        pass: median(per.total) >= 0.9,
      },
    );
    for (const c of clients.splice(0)) await c.close();
    await rm(source);

    // --- 3. peak RSS of the CLI, 1 GiB each way, each transfer in its own process ---
    if (RSS_BYTES === 0) return rows;
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
