/* global process, Buffer */
// The container held to the hardware: `openssl speed -evp aes-256-gcm` on 1 MiB blocks next to the
// container's segment ciphers (the ones uploads and downloads run) on 1 MiB segments, both measured
// in CPU time and both on one core: each runs in its own process pinned to CPU 0 (taskset, Linux).
// openssl speed counts user CPU seconds of its one thread; the container side counts user + system
// CPU of its whole process (GC threads and page faults included). Unpinned, inside the bench
// process, the container sometimes burned 2-3x the CPU time for the same bytes (2026-12-06:
// 500-730 MiB/s, against 1,300-2,200 pinned at the same load and page faults), most likely V8's
// background threads freeing cipher outputs on the other core while the main thread allocates.
// The container side runs on any Node binary (`node`): the machine's, and the Node 22 LTS the
// server image ships (Dockerfile), whose Cipher.update costs less per call than Node 20's.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CONTAINER_TAG_LENGTH, SegmentDecryptor, SegmentEncryptor } from '@conduit/shared';

const MiB = 1024 * 1024;
const SEGMENT = MiB;
const OPENSSL_SECONDS = Number(process.env.BENCH_OPENSSL_SECONDS ?? 3);
/** Both sides run on this CPU. */
export const CORE = '0';
const run = promisify(execFile);

/**
 * MiB/s of one `openssl speed` run on 1 MiB blocks (encrypt, or decrypt). Its last line reads
 * "AES-256-GCM  <n>k": thousands of bytes per CPU second.
 */
export async function opensslSpeed(op) {
  const args = ['speed', ...(op === 'decrypt' ? ['-decrypt'] : []), '-evp', 'aes-256-gcm'];
  args.push('-bytes', String(SEGMENT), '-seconds', String(OPENSSL_SECONDS));
  const { stdout } = await run('taskset', ['-c', CORE, 'openssl', ...args]);
  const match = /^AES-256-GCM\s+([\d.]+)k\s*$/m.exec(stdout);
  if (!match) throw new Error(`cannot read openssl speed output: ${stdout.slice(-200)}`);
  return (Number(match[1]) * 1000) / MiB;
}

/**
 * Runs fn; returns the process CPU time (user + system) it took, in ms, and the minor page faults
 * it took (fresh memory for cipher outputs: a trimmed heap faults back in under the kernel's locks).
 */
function cpuMs(fn) {
  const before = process.cpuUsage();
  const faults = process.resourceUsage().minorPageFault;
  fn();
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000, faults: process.resourceUsage().minorPageFault - faults };
}

/** Segments in rotation: one reused buffer per part in flight, as uploads and downloads hold them. */
const IN_FLIGHT = 4;

/**
 * Container segment encrypt and decrypt throughput (MiB/s of CPU time, and minor page faults per
 * MiB) over `bytes` of data in
 * 1 MiB segments: each segment index encrypts one of IN_FLIGHT plaintext buffers (decrypt: opens
 * one of IN_FLIGHT sealed segments) into one reused output buffer. That is a transfer's steady
 * state (a part reads each segment into its own reused buffer) and openssl speed's (one buffer,
 * over and over); holding `bytes` of fresh plaintext and ciphertext instead would charge the
 * container for the garbage collector walking hundreds of MiB no transfer ever holds. Also
 * returns the first (cold) encrypt pass's rate.
 */
function containerSpeed(bytes) {
  const count = bytes / SEGMENT;
  const plain = Array.from({ length: IN_FLIGHT }, () => randomBytes(SEGMENT));
  const contentKey = randomBytes(32);
  const encryptor = new SegmentEncryptor({ contentKey, segmentSize: SEGMENT });
  const decryptor = new SegmentDecryptor({ contentKey, header: encryptor.header });
  const out = Buffer.allocUnsafe(SEGMENT + CONTAINER_TAG_LENGTH);
  const sealed = plain.map((p, i) => encryptor.encryptSegment(i, p, false));
  const encrypt = () =>
    cpuMs(() => {
      for (let i = 0; i < count; i++) encryptor.encryptSegmentInto(i, plain[i % IN_FLIGHT], i === count - 1, out);
    });
  const decrypt = () =>
    cpuMs(() => {
      for (let i = 0; i < count; i++) decryptor.decryptSegmentInto(i % IN_FLIGHT, sealed[i % IN_FLIGHT], false, out);
    });
  // A fresh process's first pass grows the malloc and V8 heaps under the cipher outputs (2026-12-06:
  // ~35 page faults/MiB and 900-1,000 MiB/s on both Nodes, against under 3 and up to 3x the speed
  // afterwards). A transfer pays that once per process; openssl speed measures its steady state
  // over 3 s, so the container's is measured on a second pass and the first is only reported.
  const cold = encrypt();
  decrypt();
  const enc = encrypt();
  const dec = decrypt();
  const last = (count - 1) % IN_FLIGHT;
  if (!out.subarray(0, SEGMENT).equals(plain[last])) throw new Error('container round trip failed');
  const mib = bytes / MiB;
  return {
    encrypt: mib / (enc.ms / 1000),
    decrypt: mib / (dec.ms / 1000),
    faultsPerMiB: { encrypt: enc.faults / mib, decrypt: dec.faults / mib },
    coldEncrypt: mib / (cold.ms / 1000),
  };
}

/** containerSpeed(bytes) in a process of its own, run by the Node binary `node`, on the openssl side's core. */
export async function containerSpeedOnOneCore(bytes, node = process.execPath) {
  const self = fileURLToPath(import.meta.url);
  const { stdout } = await run('taskset', ['-c', CORE, node, self, String(bytes)], { maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout);
}

/**
 * A Node 22 binary and its version: BENCH_NODE22 if set, else the machine's own Node if it is 22,
 * else the npm registry's `node@22` package through npx (downloaded once into npx's cache).
 */
export async function node22() {
  let node = process.env.BENCH_NODE22;
  if (!node && process.versions.node.startsWith('22.')) node = process.execPath;
  if (!node) node = (await run('npx', ['-y', 'node@22', '-p', 'process.execPath'])).stdout.trim();
  const version = (await run(node, ['-p', 'process.version'])).stdout.trim();
  if (!version.startsWith('v22.')) throw new Error(`${node} is Node ${version}, not 22`);
  return { node, version };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(containerSpeed(Number(process.argv[2]))));
}
