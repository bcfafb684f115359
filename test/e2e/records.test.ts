import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import type { JsonValue, RecordEntry, RecordsClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { syncMapOf, type GroupView } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

// Records sync on the real local stack (unmodified e3kit-node, twilio-sync, AWS SDK against the
// Virgil directory, the Sync emulator, s3rver and Redis): four endpoints, three identities, one
// of them with two devices.
describe('end to end: records sync', () => {
  let dir: string;
  let stack: LocalStack;
  const clients: ConduitClient[] = [];
  let group: GroupView;
  let alice: ConduitClient;
  let bobPhone: ConduitClient;
  let bobLaptop: ConduitClient;
  let carol: ConduitClient;
  /** Every version written in this file, for the fresh device's count. */
  const written: RecordEntry[] = [];
  const stops: (() => Promise<void>)[] = [];

  const open = async (identity: string, device: string) => {
    const client = await ConduitClient.open(clientOn(stack, join(dir, device), identity));
    clients.push(client);
    return client;
  };
  const records = (c: ConduitClient) => c.records(group.groupId);
  const put = async (c: ConduitClient, key: string, value: JsonValue, merge?: Parameters<RecordsClient['put']>[2]) => {
    const w = await (await records(c)).put(key, value, merge);
    written.push(w);
    return w;
  };
  const until = async <T>(what: string, probe: () => T | Promise<T>, ok: (v: T) => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (ok(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** The group's objects in S3 (inline values add none). */
  const objectKeys = async (): Promise<string[]> => {
    const { s3 } = stack.serverConfig;
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId as string, secretAccessKey: s3.secretAccessKey as string },
    });
    try {
      const out = await client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `objects/${group.groupId}/` }),
      );
      return (out.Contents ?? []).map((o) => o.Key as string);
    } finally {
      client.destroy();
    }
  };
  const view = (entries: RecordEntry[]) =>
    entries.map((e) => ({ key: e.key, versionId: e.versionId, value: e.value, seq: e.seq, deleted: e.deleted }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-records-e2e-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    alice = await open('alice', 'alice-laptop');
    await alice.register('alice password 1');
    bobPhone = await open('bob', 'bob-phone');
    await bobPhone.register('bob password 12');
    bobLaptop = await open('bob', 'bob-laptop');
    await bobLaptop.login('bob password 12');
    carol = await open('carol', 'carol-desk');
    await carol.register('carol password');
    group = await alice.createGroup(['bob', 'carol']);
  });

  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => undefined);
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, gets, lists, keeps history and deletes, delivered live to every endpoint', async () => {
    for (const c of [bobPhone, bobLaptop, carol]) stops.push(await (await records(c)).watch());
    const changes: RecordEntry[] = [];
    (await records(carol)).onChange((e) => changes.push(e));

    const first = await put(alice, 'profile', { name: 'Alice', langs: ['en'] });
    const second = await put(alice, 'profile', { name: 'Alice', langs: ['en', 'fr'] });
    expect(second.parentVersionId).toBe(first.versionId);
    expect(second.seq).toBeGreaterThan(first.seq);
    await put(alice, 'notes/1', 'hello');
    const gone = await (await records(alice)).delete('notes/1');
    written.push(gone);
    expect(gone.deleted).toBe(true);

    for (const c of [alice, bobPhone, bobLaptop, carol]) {
      const r = await records(c);
      await until(
        `${c.identity}'s replica`,
        () => r.get('profile')?.versionId,
        (v) => v === second.versionId,
      );
      await until(
        `${c.identity}'s tombstone`,
        () => r.history('notes/1').length,
        (n) => n === 2,
      );
      expect(r.get('profile')?.value).toEqual({ name: 'Alice', langs: ['en', 'fr'] });
      expect(r.get('notes/1')).toBeUndefined();
      expect(r.list().map((e) => e.key)).toEqual(['profile']);
      expect(r.history('profile').map((e) => e.versionId)).toEqual([first.versionId, second.versionId]);
      expect(r.history('notes/1').map((e) => e.deleted)).toEqual([false, true]);
    }
    expect(changes.map((e) => e.seq)).toEqual([...changes.map((e) => e.seq)].sort((a, b) => a - b));
    expect(changes.at(-1)?.deleted).toBe(true);

    // Small values travel inside the sealed envelope only: no object so far. A large value is an
    // object, and storage holds ciphertext only.
    expect(await objectKeys()).toEqual([]);
    const marker = 'RECORD-PLAINTEXT-MARKER';
    const big = { marker, rows: Array.from({ length: 5000 }, (_, i) => ({ i, text: `row ${i} ${marker}` })) };
    const bigWrite = await put(alice, 'big', big);
    const objects = await objectKeys();
    expect(objects).toHaveLength(1);
    const stored = await stack.inspect.readObject(objects[0] as string);
    expect(stored.length).toBeGreaterThan(JSON.stringify(big).length);
    expect(stored.includes(marker)).toBe(false);
    for (const c of [bobPhone, bobLaptop, carol]) {
      const r = await records(c);
      await until(
        `${c.identity}'s big record`,
        () => r.get('big')?.versionId,
        (v) => v === bigWrite.versionId,
      );
      expect(r.get('big')?.value).toEqual(big);
    }
    await (await records(alice)).delete('big').then((w) => written.push(w));

    // A write from a second device of the same identity reaches the others, alice included once she catches up.
    const fromLaptop = await put(bobLaptop, 'profile', { name: 'Alice (edited by Bob)' });
    expect(fromLaptop.parentVersionId).toBe(second.versionId);
    await until(
      'bob-phone sees the laptop write',
      () => bobPhone.records(group.groupId).then((r) => r.get('profile')?.versionId),
      (v) => v === fromLaptop.versionId,
    );
    await (await records(alice)).sync();
    expect((await records(alice)).get('profile')?.value).toEqual({ name: 'Alice (edited by Bob)' });
  });

  it('resolves a conflict between two offline writers with the merge callback', async () => {
    for (const stop of stops.splice(0)) await stop();
    const base = await put(alice, 'shopping', { items: ['bread'] });
    await (await records(bobPhone)).sync();
    expect((await records(bobPhone)).get('shopping')?.versionId).toBe(base.versionId);

    // Neither receives the other's write: both name `base` as the parent.
    const fromAlice = await put(alice, 'shopping', { items: ['bread', 'milk'] });
    const calls: [JsonValue, RecordEntry | null][] = [];
    const union = (local: JsonValue, remote: RecordEntry | null): JsonValue => {
      calls.push([local, remote]);
      const items = (v: JsonValue | undefined) => (v as { items?: string[] } | undefined)?.items ?? [];
      return { items: [...new Set([...items(remote?.value), ...items(local)])] };
    };
    const fromBob = await put(bobPhone, 'shopping', { items: ['bread', 'eggs'] }, { merge: union });

    expect(calls).toHaveLength(1);
    expect(calls[0]?.[0]).toEqual({ items: ['bread', 'eggs'] });
    expect(calls[0]?.[1]?.versionId).toBe(fromAlice.versionId);
    expect(fromBob.parentVersionId).toBe(fromAlice.versionId);
    expect(fromBob.value).toEqual({ items: ['bread', 'milk', 'eggs'] });

    for (const c of [alice, bobPhone, bobLaptop, carol]) {
      const r = await records(c);
      await r.sync();
      expect(r.get('shopping')?.value).toEqual({ items: ['bread', 'milk', 'eggs'] });
      expect(r.history('shopping').map((e) => e.versionId)).toEqual([
        base.versionId,
        fromAlice.versionId,
        fromBob.versionId,
      ]);
    }

    // Without a merge callback the default is last writer wins: the retried write goes on top.
    const lww = await put(alice, 'shopping', { items: ['cheese'] }, { parent: base.versionId });
    expect(lww.parentVersionId).toBe(fromBob.versionId);
    expect(lww.value).toEqual({ items: ['cheese'] });
  });

  it('catches a new device up on all history from the feed; Sync only ever held the feed notification', async () => {
    // No version was published to Sync: the group's map holds one coalesced notification.
    const items = await stack.inspect.syncGet(`Maps/${syncMapOf(group.groupId)}/Items`);
    const keys = (items.body as { items: { key: string; data: unknown }[] }).items.map((i) => i.key);
    expect(keys).toEqual(['feed']);

    const bobTablet = await open('bob', 'bob-tablet');
    await bobTablet.login('bob password 12');
    const fresh = await bobTablet.records(group.groupId);
    expect(fresh.list()).toEqual([]);
    const applied = await fresh.sync();
    const reference = await records(alice);
    await reference.sync();
    expect(applied).toBe(written.length);
    expect(view(fresh.list())).toEqual(view(reference.list()));
    for (const key of ['profile', 'notes/1', 'shopping', 'twice']) {
      expect(view(fresh.history(key))).toEqual(view(reference.history(key)));
    }
    expect(fresh.get('shopping')?.value).toEqual({ items: ['cheese'] });
    // Nothing new: a second catch-up applies nothing.
    expect(await fresh.sync()).toBe(0);
  });

  it('a removed member cannot read records written after its removal', async () => {
    const carolRecords = await records(carol);
    await carolRecords.sync();
    expect(carolRecords.get('profile')).toBeDefined();

    await alice.removeMember(group.groupId, 'carol');
    await put(alice, 'after-removal', { plan: 'carol must not see this' });

    await expect(carolRecords.sync()).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND' });
    expect(carolRecords.get('after-removal')).toBeUndefined();
    // The remaining members still read it.
    const bob = await records(bobPhone);
    await bob.sync();
    expect(bob.get('after-removal')?.value).toEqual({ plan: 'carol must not see this' });
  });

  it("hands the feed notification met by the file receiver to the group's records", async () => {
    const w = await put(alice, 'via-file-receiver', { ok: true });
    const source = join(dir, 'note.txt');
    await writeFile(source, 'a file after a record');
    await alice.sendFile(group.groupId, source);
    // bob-phone only runs the file receiver; the feed notification it meets on the map makes its
    // records client pull the feed.
    const r = await records(bobPhone);
    const stop = new AbortController();
    let fileName: string | undefined;
    const receiving = bobPhone.receive(group.groupId, {
      outDir: join(dir, 'bob-inbox'),
      signal: stop.signal,
      onFile: (f) => (fileName = f.name),
    });
    const deadline = Date.now() + 20_000;
    while (fileName === undefined || r.get('via-file-receiver') === undefined) {
      if (Date.now() > deadline) throw new Error('the file receiver did not deliver both the file and the record');
      await new Promise((done) => setTimeout(done, 50));
    }
    stop.abort();
    await receiving;
    expect(fileName).toBe('note.txt');
    expect(r.get('via-file-receiver')?.versionId).toBe(w.versionId);
    expect(r.get('via-file-receiver')?.value).toEqual({ ok: true });
  });

  it('drives records from the CLI: put, get, history, rm, with --json and helpful errors', async () => {
    const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
    const env = {
      ...process.env,
      ...stack.clientEnv,
      CONDUIT_HOME: join(dir, 'bob-cli'),
      CONDUIT_IDENTITY: 'bob',
      CONDUIT_PASSWORD: 'bob password 12',
    };
    const run = async (...args: string[]) => {
      try {
        const { stdout } = await promisify(execFile)(process.execPath, [cli, ...args], { env });
        return { code: 0, stdout, stderr: '' };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    expect((await run('login')).code).toBe(0);
    const gid = group.groupId;
    const valueFile = join(dir, 'settings.json');
    await writeFile(valueFile, JSON.stringify({ theme: 'dark' }));

    const put = JSON.parse(
      (await run('--json', 'record', 'put', gid, 'settings', `@${valueFile}`)).stdout,
    ) as RecordEntry;
    expect(put.key).toBe('settings');
    const got = JSON.parse((await run('--json', 'record', 'get', gid, 'settings')).stdout) as RecordEntry;
    expect(got.value).toEqual({ theme: 'dark' });
    // The CLI device caught up on everything alice wrote too.
    expect(JSON.parse((await run('record', 'get', gid, 'after-removal')).stdout)).toEqual({
      plan: 'carol must not see this',
    });
    expect((await run('record', 'put', gid, 'settings', '"light"')).code).toBe(0);
    const rm = await run('record', 'rm', gid, 'settings');
    expect(rm.stdout).toMatch(/settings: deleted/);
    const history = JSON.parse((await run('--json', 'record', 'history', gid, 'settings')).stdout) as {
      versions: RecordEntry[];
    };
    expect(history.versions.map((v) => [v.deleted, v.value])).toEqual([
      [false, { theme: 'dark' }],
      [false, 'light'],
      [true, undefined],
    ]);
    // alice sees the CLI's writes.
    const a = await records(alice);
    await a.sync();
    expect(a.history('settings').map((v) => v.versionId)).toEqual(history.versions.map((v) => v.versionId));

    const notJson = await run('record', 'put', gid, 'settings', 'light');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/not valid JSON.*@file/);
    const missing = await run('record', 'get', gid, 'settings');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/RECORD_NOT_FOUND/);
  });
});
