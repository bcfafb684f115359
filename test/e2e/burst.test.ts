import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, type SentFile } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { objectKeyOf } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

const ENDPOINTS = 10;

// Ten endpoints send into one group at once on the stack's default Sync write limit (Twilio's:
// 20 writes/s per map, burst 20, 429 / 54009 above it). Every file must be delivered to every other
// endpoint and purged, and S3 must hold no object that no pointer references.
describe('end to end: a burst of sends into one group under Sync’s write limit', () => {
  let dir: string;
  let stack: LocalStack;
  const clients: ConduitClient[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-burst-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers and purges every file, leaving no orphan object in S3', async () => {
    const names = Array.from({ length: ENDPOINTS }, (_, i) => `burst${i}`);
    for (const name of names) {
      const client = await ConduitClient.open(clientOn(stack, join(dir, name), name));
      await client.register(`${name} password 1`);
      clients.push(client);
    }
    const [owner, ...others] = clients;
    const group = await owner!.createGroup(names.slice(1));
    const files = await Promise.all(
      names.map(async (name) => {
        const path = join(dir, `${name}.bin`);
        const bytes = randomBytes(4_000);
        await writeFile(path, bytes);
        return { path, bytes };
      }),
    );
    expect(others).toHaveLength(ENDPOINTS - 1);

    const refusedBefore = stack.internals.syncFaults.refusedWrites();
    const sent: SentFile[] = await Promise.all(clients.map((c, i) => c.sendFile(group.groupId, files[i]!.path)));

    // Everyone receives the nine files of the others, byte-identical.
    await Promise.all(
      clients.map(async (client, me) => {
        const got = new Set<number>();
        for (let n = 0; n < ENDPOINTS - 1; n += 1) {
          const file = await client.receiveNext(group.groupId, { outDir: join(dir, `in-${me}`), timeoutMs: 60_000 });
          const from = names.indexOf(file.sender.identity);
          expect(from).not.toBe(me);
          expect((await readFile(file.path)).equals(files[from]!.bytes)).toBe(true);
          got.add(from);
        }
        expect(got.size).toBe(ENDPOINTS - 1);
      }),
    );

    const deadline = Date.now() + 60_000;
    for (const s of sent) {
      for (;;) {
        const status = await owner!.status(s.pointerId);
        if (status.state === 'purged') break;
        if (Date.now() > deadline) throw new Error(`pointer ${s.pointerId} stayed ${status.state}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await stack.inspect.syncItemExists(s.syncMap, s.itemKey)).toBe(false);
    }

    // The bucket, listed through the S3 API, holds exactly the objects the sent pointers name.
    const { s3 } = stack.serverConfig;
    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId!, secretAccessKey: s3.secretAccessKey! },
    });
    try {
      const listed = await s3Client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `objects/${group.groupId}/` }),
      );
      const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
      expect(keys).toEqual(sent.map((s) => objectKeyOf(group.groupId, s.objectId)).sort());
    } finally {
      s3Client.destroy();
    }
    // Informational: how often the burst met Sync's limit (the server waited those out).
    console.log(`burst: Sync refused ${stack.internals.syncFaults.refusedWrites() - refusedBefore} writes (429)`);
  }, 240_000);
});
