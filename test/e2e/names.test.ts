import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeEThree, ConduitClient, EncryptedKeyStore, HttpClient, openEThree, sealName } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { DEVICE_HEADER, DisplayName, type GroupView } from '@conduit/shared';
import { dumpRedis } from './support/adversary.js';
import { clientOn } from './support/stack-client.js';
import { createKeys, type RedisClient } from '@conduit/server';
import { openRedis } from './support/redis.js';

// Issue 11 item 8 on the real local stack: group names sealed for the members by the owner,
// device names sealed by the identity for itself, and both accepted wherever the CLI takes an id.
describe('names of groups and devices', () => {
  let dir: string;
  let stack: LocalStack;
  let prefix: string;
  let redis: RedisClient;
  const clients: ConduitClient[] = [];
  const PW = { alice: 'alice password 1', bob: 'bob password 123', carol: 'carol password 1' };
  let alice: ConduitClient;
  let bob: ConduitClient;
  let carol: ConduitClient;
  let group: GroupView;
  const NAME = 'Oncology ward 3 / patient X';

  const open = async (identity: keyof typeof PW, device: string) => {
    const client = await ConduitClient.open({
      ...clientOn(stack, join(dir, device), identity),
      keyPassword: async () => PW[identity],
    });
    clients.push(client);
    await client.register(PW[identity]);
    return client;
  };
  const session = async (device: string, identity: string) =>
    JSON.parse(await readFile(join(dir, device, identity, 'session.json'), 'utf8')) as { token: string };
  const storedGroup = () => redis.hgetall(createKeys(prefix).group(group.groupId));
  const nameSeenBy = async (client: ConduitClient, view: GroupView = group) =>
    client.groupName({ ...view, sealedName: (await storedGroup()).sealedName });

  /** A name for the group sealed by bob, a member, with the group key and his genuine private key. */
  const sealedByBob = async (name: string): Promise<string> => {
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    api.setSession((await session('bob-laptop', 'bob')).token);
    api.setDevice(bob.deviceId);
    const ethree = await openEThree({
      identity: 'bob',
      storageDir: join(dir, 'bob-plain-e3kit'),
      apiUrl: stack.virgilApiUrl,
      servicePublicKey: stack.virgilServicePublicKey,
      getToken: async () => (await api.virgilToken()).token,
      keyEntryStorage: await EncryptedKeyStore.unlock(join(dir, 'bob-laptop', 'bob', 'e3kit', 'keystore.json'), PW.bob),
    });
    try {
      const g = await ethree.loadGroup(group.groupId, await ethree.findUsers('alice'));
      return await sealName('group', group.groupId, name, async (p) => (await g.encrypt(p)) as Buffer);
    } finally {
      await closeEThree(ethree);
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-names-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    prefix = (JSON.parse(await readFile(join(dir, 'stack', 'secrets.json'), 'utf8')) as { redisKeyPrefix: string })
      .redisKeyPrefix;
    redis = openRedis(stack.redisUrl);
    alice = await open('alice', 'alice-laptop');
    bob = await open('bob', 'bob-laptop');
    carol = await open('carol', 'carol-desk');
    group = await alice.createGroup(['bob', 'carol'], { name: NAME });
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    redis?.disconnect();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the owner names a group; members read it; the server holds only ciphertext', async () => {
    expect(group.sealedName).toBeDefined();
    expect(await alice.groupName(group)).toEqual({ name: NAME });
    for (const member of [bob, carol]) {
      const [view] = await member.listGroups();
      expect(view?.groupId).toBe(group.groupId);
      expect(await member.groupName(view!)).toEqual({ name: NAME });
    }
    const record = await storedGroup();
    expect(record.sealedName).toBe(group.sealedName);
    const everything = await dumpRedis(stack.redisUrl, prefix);
    for (const fragment of ['Oncology', 'patient X', Buffer.from('Oncology').toString('base64')]) {
      expect(everything.includes(Buffer.from(fragment))).toBe(false);
    }
  });

  it("refuses a member's name through the raw API, and does not show one the server plants", async () => {
    const res = await fetch(`${stack.serverUrl}/v1/groups/${group.groupId}/name`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${(await session('bob-laptop', 'bob')).token}`,
        [DEVICE_HEADER]: bob.deviceId,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ sealedName: await sealedByBob('Renamed by bob') }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect((await storedGroup()).sealedName).toBe(group.sealedName);

    // The server writes bob's genuine sealing into the record: members open it, but it is not the owner's.
    const genuine = (await storedGroup()).sealedName!;
    await redis.hset(createKeys(prefix).group(group.groupId), 'sealedName', await sealedByBob('Forged'));
    try {
      for (const member of [alice, carol]) {
        const [view] = await member.listGroups();
        const shown = await member.groupName(view!);
        expect(shown.name).toBeUndefined();
        expect(shown.unverified).toContain('was not sealed by the owner alice');
      }
      // Nor does a name the owner sealed for another group.
      const other = await alice.createGroup(['carol'], { name: 'Somewhere else' });
      await redis.hset(createKeys(prefix).group(group.groupId), 'sealedName', other.sealedName!);
      const [view] = (await carol.listGroups()).filter((g) => g.groupId === group.groupId);
      const moved = await carol.groupName(view!);
      expect(moved.name).toBeUndefined();
      expect(moved.unverified).toBeDefined();
    } finally {
      await redis.hset(createKeys(prefix).group(group.groupId), 'sealedName', genuine);
    }
    expect(await nameSeenBy(carol)).toEqual({ name: NAME });
  });

  it('a removed member cannot read a rename made after its removal; the others read the latest', async () => {
    await alice.removeMember(group.groupId, 'carol');
    const renamed = await alice.renameGroup(group.groupId, 'Oncology ward 4');
    expect(renamed.sealedName).not.toBe(group.sealedName);
    expect(await bob.groupName((await bob.listGroups())[0]!)).toEqual({ name: 'Oncology ward 4' });
    // carol holds the view from when she was a member and is handed the new sealed name.
    const seen = await nameSeenBy(carol);
    expect(seen.name).toBeUndefined();
    expect(seen.unverified).toBeDefined();
  });

  it('device names round-trip, sealed for the identity only', async () => {
    await bob.renameDevice(bob.deviceId, "bob's laptop");
    const devices = await bob.listDevices();
    expect(devices).toEqual([expect.objectContaining({ deviceId: bob.deviceId, name: "bob's laptop" })]);
    const stored = await redis.hget(createKeys(prefix).deviceNames('bob'), bob.deviceId);
    expect(stored).toBeTruthy();
    expect((await dumpRedis(stack.redisUrl, prefix)).includes(Buffer.from("bob's laptop"))).toBe(false);
  });

  describe('the CLI takes names wherever it takes ids', () => {
    const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const env = {
          ...process.env,
          ...stack.clientEnv,
          CONDUIT_HOME: join(dir, 'alice-cli'),
          CONDUIT_PASSWORD: PW.alice,
        };
        execFile(process.execPath, [cli, '--as', 'alice', ...args], { env, timeout: 90_000 }, (err, so, se) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: so, stderr: se }),
        );
      });

    it('names the device at login, lists and renames devices and groups by name', async () => {
      expect((await run(['login'])).code).toBe(0);
      const devices = await run(['device', 'ls']);
      expect(devices.code).toBe(0);
      // Named after the host at login, unless the host name is no valid name.
      const host = DisplayName.safeParse(hostname()).data;
      expect(devices.stdout).toMatch(new RegExp(`${host ? JSON.stringify(host) : '\\(no name\\)'}.*\\(this device\\)`));

      const self = (JSON.parse((await run(['device', 'ls', '--json'])).stdout) as { devices: { deviceId: string }[] })
        .devices;
      const rename = await run(['device', 'rename', host ?? self[self.length - 1]!.deviceId, 'alice cli']);
      expect(rename.code, rename.stderr).toBe(0);
      expect((await run(['device', 'ls'])).stdout).toMatch(/"alice cli".*\(this device\)/);

      const ls = await run(['group', 'ls']);
      expect(ls.stdout).toContain('"Oncology ward 4"');
      const show = await run(['group', 'show', 'ONCOLOGY WARD 4', '--json']);
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout)).toMatchObject({ groupId: group.groupId, name: 'Oncology ward 4' });

      const renamed = await run(['group', 'rename', 'oncology ward 4', 'Ward 5']);
      expect(renamed.code, renamed.stderr).toBe(0);
      expect(await bob.groupName((await bob.listGroups())[0]!)).toEqual({ name: 'Ward 5' });

      const file = join(dir, 'note.txt');
      await writeFile(file, 'sent by name');
      const sent = await run(['send', 'ward 5', file, '--json']);
      expect(sent.code, sent.stderr).toBe(0);
      const received = await bob.receiveNext(group.groupId, { outDir: join(dir, 'bob-in'), timeoutMs: 30_000 });
      expect(await readFile(received.path, 'utf8')).toBe('sent by name');
    });

    it('fails an ambiguous name with NAME_AMBIGUOUS and exit 2, an unknown one with exit 4', async () => {
      const first = await run(['group', 'create', '--name', 'Team', 'bob', '--json']);
      const second = await run(['group', 'create', '--name', 'team', 'bob', '--json']);
      expect(first.code, first.stderr).toBe(0);
      expect(second.code, second.stderr).toBe(0);
      const ids = [first, second].map((r) => (JSON.parse(r.stdout) as { groupId: string }).groupId);

      const ambiguous = await run(['group', 'add', 'TEAM', 'carol']);
      expect(ambiguous.code).toBe(2);
      expect(ambiguous.stderr).toContain('error NAME_AMBIGUOUS');
      for (const id of ids) expect(ambiguous.stderr).toContain(id);
      expect(ambiguous.stderr).toContain('hint: use one of the ids listed');

      const unknown = await run(['record', 'ls', 'no such group']);
      expect(unknown.code).toBe(4);
      expect(unknown.stderr).toContain('error GROUP_NOT_FOUND');
      expect(unknown.stderr).toContain('conduit group ls');

      const noDevice = await run(['device', 'revoke', 'no such device']);
      expect(noDevice.code).toBe(4);
      expect(noDevice.stderr).toContain('error DEVICE_NOT_FOUND');
    });
  });
});
