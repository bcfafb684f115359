import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, type ReceivedFile } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import type { ConduitError } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

/**
 * The API as the receiver reaches it, through a TCP relay the test can take down and bring back
 * on the same port: from the receiver's side exactly an API outage (connections refused), while
 * the sender and Sync keep working.
 */
class Outage {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: number) {}

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

// Issue 11, item 16: a long-running receive retries a pointer that failed during an outage, with
// backoff, and delivers it once the outage is over, without restarting the receiver.
describe('a receiver running through an API outage', () => {
  let dir: string;
  let stack: LocalStack;
  let outage: Outage;
  const clients: ConduitClient[] = [];

  const open = async (identity: string, device: string, serverUrl: string) => {
    const client = await ConduitClient.open({ ...clientOn(stack, join(dir, device), identity), serverUrl });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-outage-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    outage = new Outage(Number(new URL(stack.serverUrl).port));
    await outage.up();
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await outage?.down();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('retries the pointer that failed during the outage and delivers it after, in the same session', async () => {
    const alice = await open('alice', 'alice-laptop', stack.serverUrl);
    await alice.register('alice password 1');
    const bob = await open('bob', 'bob-phone', `http://127.0.0.1:${outage.port}`);
    await bob.register('bob password 12');
    const groupId = (await alice.createGroup(['bob'])).groupId;

    const files: ReceivedFile[] = [];
    const errors: ConduitError[] = [];
    const stop = new AbortController();
    const receiving = bob.receive(groupId, {
      outDir: join(dir, 'inbox'),
      signal: stop.signal,
      onFile: (f) => files.push(f),
      onError: (e) => errors.push(e),
    });
    // Settled at once, so a receive that fails early is reported by the test, not as an unhandled rejection.
    const ended = receiving.then(
      () => undefined,
      (err: unknown) => err,
    );
    try {
      // Subscribed for sure once a first file arrived (a fixed sleep loses the race under load).
      const warmUp = join(dir, 'warm-up.txt');
      await writeFile(warmUp, 'warm-up');
      await alice.sendFile(groupId, warmUp);
      const until = Date.now() + 20_000;
      while (files.length === 0) {
        if (Date.now() > until)
          throw new Error(`receive did not start: ${String(await Promise.race([ended, 'running']))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      files.length = 0;
      await outage.down();
      const path = join(dir, 'during-outage.txt');
      const plain = Buffer.from(`during-outage-${randomBytes(16).toString('hex')}`);
      await writeFile(path, plain);
      const sent = await alice.sendFile(groupId, path);

      const deadline = Date.now() + 20_000;
      while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(errors.map((e) => e.code)).toContain('TRANSPORT');
      expect(files).toEqual([]);

      await outage.up();
      while (files.length === 0 && Date.now() < deadline + 20_000) await new Promise((r) => setTimeout(r, 100));
      expect(files.map((f) => f.pointerId)).toEqual([sent.pointerId]);
      expect((await readFile(files[0]!.path)).equals(plain)).toBe(true);
      for (;;) {
        if ((await alice.status(sent.pointerId)).state === 'purged') break;
        if (Date.now() > deadline + 40_000) throw new Error('not purged');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      stop.abort();
      expect(await ended).toBeUndefined();
    }
  });
});
