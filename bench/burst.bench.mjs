/* global process, performance */
// A burst into one group on the local stack's default Sync write limit (Twilio's: 20 writes/s per
// map, burst 20; 429 / 54009 above it): 10 endpoints each send BENCH_BURST_FILES files at once
// (every send: S3 upload, registration, the server's Sync publish), then every endpoint receives
// the others' files, and every pointer must be purged. Reports send latency (sendFile, start to
// registered and published), how many Sync writes met a 429, and how many sends failed with it.
// The stack runs in this process (startLocalStack, as the e2e tests do), the clients too.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ConduitClient } from '@conduit/client';
import { startLocalStack } from '@conduit/devstack';
import { percentile, sleep } from './lib.mjs';

export const name = 'burst';
export const description = '10 endpoints sending at once into one group, default Sync write limit, local stack';

const ENDPOINTS = 10;
const FILES_EACH = Number(process.env.BENCH_BURST_FILES ?? 3);
const FILE_BYTES = 4_000;
const TARGET_P99_MS = 10_000;

export async function run(log) {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bench-burst-'));
  const clients = [];
  let stack;
  try {
    stack = await startLocalStack({ dataDir: join(dir, 'stack'), log: (l) => log(l) });
    const names = Array.from({ length: ENDPOINTS }, (_, i) => `burst${i}`);
    for (const who of names) {
      const client = await ConduitClient.open({
        serverUrl: stack.serverUrl,
        virgilApiUrl: stack.virgilApiUrl,
        virgilServicePublicKey: stack.virgilServicePublicKey,
        twilsockUri: stack.twilsockUri,
        home: join(dir, who),
        identity: who,
      });
      clients.push(client);
      await client.register(`${who} password 1`);
    }
    const group = await clients[0].createGroup(names.slice(1));
    const paths = [];
    for (let i = 0; i < ENDPOINTS * FILES_EACH; i += 1) {
      paths.push(join(dir, `file-${i}.bin`));
      await writeFile(paths[i], randomBytes(FILE_BYTES));
    }

    const refusedBefore = stack.internals.syncFaults.refusedWrites();
    const load = loadavg()[0];
    const latencies = [];
    const sent = [];
    let rateLimited = 0;
    const started = Date.now();
    await Promise.all(
      clients.flatMap((client, c) =>
        Array.from({ length: FILES_EACH }, async (_, f) => {
          const t0 = performance.now();
          try {
            sent.push(await client.sendFile(group.groupId, paths[c * FILES_EACH + f]));
            latencies.push(performance.now() - t0);
          } catch (err) {
            if (err?.code === 'RATE_LIMITED') rateLimited += 1;
            else throw err;
          }
        }),
      ),
    );
    const sendMs = Date.now() - started;
    const refused = stack.internals.syncFaults.refusedWrites() - refusedBefore;
    log(`${sent.length} sends in ${sendMs} ms, ${refused} Sync writes refused (429), load average ${load.toFixed(2)}`);

    await Promise.all(
      clients.map(async (client, me) => {
        for (let n = 0; n < (ENDPOINTS - 1) * FILES_EACH; n += 1) {
          await client.receiveNext(group.groupId, { outDir: join(dir, `in-${me}`), timeoutMs: 120_000 });
        }
      }),
    );
    const deadline = Date.now() + 120_000;
    for (const s of sent) {
      while ((await clients[0].status(s.pointerId)).state !== 'purged') {
        if (Date.now() > deadline) throw new Error(`pointer ${s.pointerId} was not purged in time`);
        await sleep(100);
      }
    }
    const purgedMs = Date.now() - started;
    const refusedTotal = stack.internals.syncFaults.refusedWrites() - refusedBefore;
    const orphans = await orphanObjects(stack, group.groupId, sent);

    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    return [
      {
        metric: `send latency p50 / p99 (${sent.length} sends)`,
        measured: `${Math.round(p50)} / ${Math.round(p99)} ms`,
        target: `p99 < ${TARGET_P99_MS} ms`,
        pass: p99 < TARGET_P99_MS && rateLimited === 0,
        note: `load average ${load.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end`,
      },
      {
        metric: 'Sync writes met 429 (publishes during the burst / incl. purges)',
        measured: `${refused} / ${refusedTotal}`,
        target: '-',
        pass: true,
        note: `sends that failed RATE_LIMITED: ${rateLimited}`,
      },
      {
        metric: 'burst start -> every pointer purged',
        measured: `${purgedMs} ms`,
        target: 'all purged, no orphan object',
        pass: orphans === 0,
        note: `${orphans} orphan object(s) in S3`,
      },
    ];
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Objects of the group in the bucket (listed through the S3 API) that no sent pointer names. */
async function orphanObjects(stack, groupId, sent) {
  const { s3 } = stack.serverConfig;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    const named = new Set(sent.map((s) => `objects/${groupId}/${s.objectId}`));
    const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `objects/${groupId}/` }));
    return (out.Contents ?? []).filter((o) => !named.has(o.Key)).length;
  } finally {
    client.destroy();
  }
}
