import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConduitClient } from '@conduit/client';
import { objectKeyOf } from '@conduit/shared';
import { startLocalStack, type LocalStack } from '../stack.js';
import { DemoCheckFailed } from './demo-check.js';

/**
 * `demo`: the whole promise, end to end, on a throwaway local stack. Alice sends Bob a
 * file; Bob gets it byte-identical; the stored object holds no plaintext; once every endpoint has
 * acknowledged with a receipt signed by its own key, the pointer is purged and its Sync item is gone.
 */
export interface DemoOptions {
  /** Plaintext size in KiB. */
  sizeKiB: number;
  /** Keep the temp directory (stack data, homes, files) for inspection. */
  keep: boolean;
  /** One transcript line per step. */
  print: (line: string) => void;
  /** Diagnostics of the stack and clients (verbose mode). */
  log?: (line: string) => void;
  /** Aborts the run (Ctrl-C); cleanup still happens. */
  signal?: AbortSignal;
  /**
   * OIDC mode: the stack's API trusts its local OpenID Provider, and the sender `auth0|abc` and the
   * receiver `jane@example.org` sign in there with this (the CLI runs the device authorization
   * grant, approved through the provider's own forms) instead of registering password accounts.
   */
  oidcSignIn?: DemoSignIn;
}

/** Signs `subject` in at the stack's provider: the directory identity and an ID-token provider. */
export type DemoSignIn = (
  stack: LocalStack,
  subject: string,
  signal?: AbortSignal,
) => Promise<{ identity: string; idToken: () => Promise<string> }>;

export interface DemoStep {
  step: string;
  ms: number;
  detail?: string;
}

const MARKER = 'CONDUIT-DEMO-PLAINTEXT-MARKER';
const WINDOW = 32;
const RECEIVE_TIMEOUT_MS = 60_000;
const PURGE_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

export async function runDemo(opts: DemoOptions): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const started = Date.now();
  const step = async <T>(label: string, fn: () => Promise<T>, detail?: (v: T) => string): Promise<T> => {
    opts.signal?.throwIfAborted();
    const t0 = Date.now();
    const value = await fn();
    const entry: DemoStep = { step: label, ms: Date.now() - t0, detail: detail?.(value) };
    steps.push(entry);
    opts.print(`  ok ${fmtMs(entry.ms)}  ${label}${entry.detail ? ` (${entry.detail})` : ''}`);
    return value;
  };

  const root = await mkdtemp(join(tmpdir(), 'conduit-demo-'));
  const clients: ConduitClient[] = [];
  let stack: LocalStack | undefined;
  try {
    const signIn = opts.oidcSignIn;
    stack = await step(
      `local stack started (server, key directory, Sync, S3, Redis${signIn ? ', OpenID Provider' : ''})`,
      () => startLocalStack({ dataDir: join(root, 'stack'), log: opts.log, oidc: signIn !== undefined }),
      (s) => s.serverUrl,
    );
    const s = stack;
    const open = async (identity: string, idToken?: () => Promise<string>) => {
      const client = await ConduitClient.open({
        idToken,
        serverUrl: s.serverUrl,
        home: join(root, 'homes'),
        identity,
        virgilApiUrl: s.virgilApiUrl,
        virgilServicePublicKey: s.virgilServicePublicKey,
        twilsockUri: s.twilsockUri,
        log: opts.log && ((line) => opts.log?.(`${identity}: ${line}`)),
      });
      clients.push(client);
      return client;
    };
    const secret = () => randomBytes(18).toString('base64url');
    let alice: ConduitClient;
    let bob: ConduitClient;
    if (signIn) {
      const provider = async (subject: string) => {
        const who = await signIn(s, subject, opts.signal);
        const client = await open(who.identity, who.idToken);
        await client.loginWithProvider(secret());
        return client;
      };
      alice = await step(
        'auth0|abc signed in at the OpenID Provider (device code): device, new key, passphrase key backup',
        () => provider('auth0|abc'),
        (c) => `identity ${c.identity}`,
      );
      bob = await step(
        'jane@example.org signed in likewise',
        () => provider('jane@example.org'),
        (c) => `identity ${c.identity}`,
      );
    } else {
      alice = await open('alice');
      bob = await open('bob');
      await step('alice registered: account, device, public key, password key backup', () => alice.register(secret()));
      await step('bob registered', () => bob.register(secret()));
    }
    const group = await step(
      `${alice.identity} created a group with ${bob.identity}`,
      () => alice.createGroup([bob.identity]),
      (g) => `group ${g.groupId}`,
    );

    const source = join(root, 'alice-files', 'demo-report.txt');
    const plaintext = await step(
      `generated a ${opts.sizeKiB} KiB file containing the marker ${MARKER}`,
      () => writeDemoFile(source, opts.sizeKiB * 1024),
      (p) => `sha256 ${sha256(p).slice(0, 16)}...`,
    );

    const sent = await step(
      `${alice.identity} encrypted, uploaded and published it`,
      () => alice.sendFile(group.groupId, source),
      (r) => `pointer ${r.pointerId}, ${r.size} bytes stored`,
    );

    await step(
      'the stored S3 object contains no 32-byte window of the plaintext',
      async () => {
        const raw = await s.inspect.readObject(objectKeyOf(group.groupId, sent.objectId));
        if (raw.length !== sent.size)
          throw new DemoCheckFailed(`Stored object is ${raw.length} bytes, expected ${sent.size}.`);
        if (raw.includes(MARKER)) throw new DemoCheckFailed('The plaintext marker is visible in the stored object.');
        const leaked = findSharedWindow(plaintext, raw, WINDOW);
        if (leaked !== undefined) {
          throw new DemoCheckFailed(`The stored object contains plaintext (window at offset ${leaked}).`);
        }
        return raw.length;
      },
      (n) => `${n} bytes checked`,
    );

    const received = await step(
      `${bob.identity} received, verified and decrypted it`,
      () => bob.receiveNext(group.groupId, { outDir: join(root, 'bob-inbox'), timeoutMs: RECEIVE_TIMEOUT_MS }),
      (f) => `${f.name}, ${f.size} bytes, from ${f.sender.identity}`,
    );
    await step(
      `${bob.identity}'s copy is byte-identical (SHA-256)`,
      async () => {
        const copy = sha256(await readFile(received.path));
        if (copy !== sha256(plaintext)) throw new DemoCheckFailed(`${bob.identity}'s copy differs from the original.`);
        return copy;
      },
      (h) => `${h.slice(0, 16)}...`,
    );

    const status = await step(
      'every endpoint acknowledged; the pointer was purged',
      () =>
        waitFor(
          () => alice.status(sent.pointerId),
          (st) => st.state === 'purged',
          PURGE_TIMEOUT_MS,
          opts.signal,
        ),
      (st) => `${st.acknowledged.length}/${st.expected.length} acknowledged`,
    );
    if (status.state !== 'purged') throw new DemoCheckFailed('The pointer was not purged.');
    // A receipt counts only if the receiver's pinned key signed it: the server cannot fake one.
    await step(
      "each receipt is signed by its receiver's pinned key",
      async () => {
        if (status.delivery.length === 0 || !status.delivery.every((d) => d.receipt === 'verified')) {
          throw new DemoCheckFailed(`Receipts not verified: ${status.delivery.map((d) => d.receipt).join(', ')}.`);
        }
        return status.delivery;
      },
      (d) => `${d.length}/${d.length} verified`,
    );
    await step('the Sync item is gone', () =>
      waitFor(
        () => s.inspect.syncItemExists(sent.syncMap, sent.itemKey),
        (exists) => !exists,
        PURGE_TIMEOUT_MS,
        opts.signal,
      ),
    );
    opts.print(`  demo passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return steps;
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await stack?.stop().catch(() => undefined);
    if (opts.keep) opts.print(`  kept ${root}`);
    else await rm(root, { recursive: true, force: true });
  }
}

/** Recognisable text (so a leak is obvious) with random parts (so every run differs). */
async function writeDemoFile(path: string, size: number): Promise<Buffer> {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `${MARKER} line ${String(i).padStart(6, '0')} patient-note ${randomBytes(16).toString('hex')}\n`;
    lines.push(line);
    length += line.length;
  }
  const data = Buffer.from(lines.join('')).subarray(0, size);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data, { mode: 0o600 });
  return data;
}

/** Offset in `plaintext` of a `width`-byte run that also occurs in `stored`, if any. */
export function findSharedWindow(plaintext: Buffer, stored: Buffer, width: number): number | undefined {
  const seen = new Set<string>();
  for (let i = 0; i + width <= stored.length; i++) seen.add(stored.toString('latin1', i, i + width));
  for (let i = 0; i + width <= plaintext.length; i++) {
    if (seen.has(plaintext.toString('latin1', i, i + width))) return i;
  }
  return undefined;
}

async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new DemoCheckFailed(`Condition not reached within ${timeoutMs} ms.`);
    signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const fmtMs = (ms: number): string => `${String(ms).padStart(6)} ms`;
