import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, EncryptedKeyStore, HttpClient, type SentFile } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { envelopeSha256, objectKeyOf } from '@conduit/shared';
import { clientOn } from './support/stack-client.js';

// Identity, device and group lifecycle on the real local stack (unmodified e3kit-node against the
// Virgil directory, Sync emulator, s3rver, Redis). Steps build on each other, in order.
describe('end to end: identities, devices and groups', () => {
  let dir: string;
  let stack: LocalStack;
  const clients: ConduitClient[] = [];
  const PW = {
    alice: 'alice password 1',
    bob: 'bob password 123',
    carol: 'carol password 1',
    dave: 'dave password 12',
  };

  let alice: ConduitClient;
  let bobPhone: ConduitClient;
  let bobLaptop: ConduitClient;
  let carol: ConduitClient;
  let dave: ConduitClient;
  let groupId: string;
  const files: { sent: SentFile; plain: Buffer }[] = [];

  const open = async (identity: string, device: string, keyPassword?: string) => {
    const client = await ConduitClient.open({
      ...clientOn(stack, join(dir, device), identity),
      keyPassword: keyPassword === undefined ? undefined : async () => keyPassword,
    });
    clients.push(client);
    return client;
  };

  const send = async (label: string) => {
    const marker = Buffer.from(`PLAINTEXT-MARKER-${label} `);
    const plain = Buffer.concat([marker, randomBytes(20_000), marker]);
    const path = join(dir, `${label}.bin`);
    await writeFile(path, plain);
    const sent = await alice.sendFile(groupId, path);
    files.push({ sent, plain });
    return { sent, plain };
  };

  const readAll = (client: ConduitClient, f: { sent: SentFile; plain: Buffer }) =>
    client.readRange(f.sent.pointer, 0, f.plain.length);

  /** The API as one device, with its stored session: to probe what the server allows it. */
  const apiAs = async (device: string, identity: string, deviceId: string) => {
    const session = JSON.parse(await readFile(join(dir, device, identity, 'session.json'), 'utf8')) as {
      token: string;
    };
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    api.setSession(session.token);
    api.setDevice(deviceId);
    return api;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-lifecycle-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    alice = await open('alice', 'alice-laptop');
    await alice.register(PW.alice);
    bobPhone = await open('bob', 'bob-phone');
    await bobPhone.register(PW.bob);
    carol = await open('carol', 'carol-desk');
    await carol.register(PW.carol);
    dave = await open('dave', 'dave-desk');
    await dave.register(PW.dave);
    groupId = (await alice.createGroup(['bob', 'carol'])).groupId;
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('restores the key on a new device from the password backup; the key store is encrypted at rest', async () => {
    const first = await send('before-new-device');
    bobLaptop = await open('bob', 'bob-laptop');
    await bobLaptop.login(PW.bob);
    expect((await readAll(bobLaptop, first)).equals(first.plain)).toBe(true);

    // On disk: one encrypted store, no e3kit plaintext key directory, nothing of the key in clear.
    const storePath = join(dir, 'bob-laptop', 'bob', 'e3kit', 'keystore.json');
    const onDisk = await readFile(storePath, 'utf8');
    await expect(stat(join(dir, 'bob-laptop', 'bob', 'e3kit', 'bob', 'keys'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const key = (await (await EncryptedKeyStore.unlock(storePath, PW.bob)).load('bob'))?.value;
    expect(key && key.length > 40).toBe(true);
    expect(onDisk).not.toContain(key!);
    expect(onDisk).not.toContain(Buffer.from(key!, 'base64').toString('hex'));
    expect(onDisk).not.toContain(key!.slice(10, 30));

    // Without the password the store stays locked; a wrong one fails cleanly.
    const locked = await open('bob', 'bob-laptop');
    await expect(locked.readRange(first.sent.pointer, 0, 10)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(locked.unlock('not the password')).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    await locked.close();
  });

  it('a removed member gets no presigned URLs and cannot decrypt what is sent afterwards', async () => {
    const before = files[0]!;
    expect((await readAll(carol, before)).equals(before.plain)).toBe(true); // carol holds the group key

    await alice.removeMember(groupId, 'carol');
    expect((await alice.getGroup(groupId)).members).toEqual(['bob']);

    const carolApi = await apiAs('carol-desk', 'carol', carol.deviceId);
    const denied = await carolApi.createDownload(groupId, before.sent.objectId).catch((e: unknown) => e);
    // The server answers a former member as it answers for a group that does not exist.
    expect(denied).toMatchObject({ code: 'GROUP_NOT_FOUND', status: 404 });

    const after = await send('after-removal');
    // Even holding the object bytes (out of band), the pointer and her cached old group key (her
    // SDK has not asked the server about the group since), carol cannot open the envelope that
    // carries the content key: the group key moved to a new epoch without her.
    const bytes = await stack.inspect.readObject(objectKeyOf(groupId, after.sent.objectId));
    expect(bytes.includes(Buffer.from('PLAINTEXT-MARKER-after-removal'))).toBe(false);
    const err = await readAll(carol, after).catch((e: unknown) => e);
    // Refused by E3Kit (the group key's new epoch), not by the server: the message names the key step.
    expect(err).toMatchObject({ code: 'NOT_GROUP_MEMBER' });
    expect((err as Error).message).toMatch(/^Updating the group key/);
    // Her next contact with the group is refused, and drops the cached key (docs/lifecycle.md).
    await expect(carol.getGroup(groupId)).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND' });
    await expect(readAll(carol, before)).rejects.toMatchObject({ code: 'GROUP_NOT_FOUND' });
    // bob still reads it.
    expect((await readAll(bobPhone, after)).equals(after.plain)).toBe(true);
  });

  it('a member added later reads earlier and later files; only the owner changes members', async () => {
    const view = await alice.addMembers(groupId, ['dave']);
    expect(view.members.sort()).toEqual(['bob', 'dave']);
    expect((await dave.listGroups()).map((g) => g.groupId)).toContain(groupId);
    for (const f of files) expect((await readAll(dave, f)).equals(f.plain)).toBe(true);

    await expect(bobPhone.addMembers(groupId, ['carol'])).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/owner/) as unknown,
    });
    await expect(bobPhone.removeMember(groupId, 'dave')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const many = Array.from({ length: 100 }, (_, i) => `user${i}`);
    await expect(alice.addMembers(groupId, many)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/at most 100 participants.*several groups/) as unknown,
    });
  });

  it('after a key rotation the member reads new files once the owner re-adds it', async () => {
    await bobPhone.rotateKey(PW.bob);
    const fresh = await send('after-rotation');
    // Its group key tickets are sealed for the old key: nothing to read yet.
    await expect(readAll(bobPhone, fresh)).rejects.toMatchObject({
      code: 'NOT_GROUP_MEMBER',
      message: expect.stringMatching(/re-add/) as unknown,
    });

    await alice.reAddMember(groupId, 'bob');
    expect((await readAll(bobPhone, fresh)).equals(fresh.plain)).toBe(true);
    expect((await readAll(bobPhone, files[0]!)).equals(files[0]!.plain)).toBe(true); // history too

    // bob's other device still holds the old key until it restores the new one from the backup.
    await bobLaptop.restoreKey(PW.bob);
    expect((await readAll(bobLaptop, fresh)).equals(fresh.plain)).toBe(true);
  });

  it('change password: a fresh device restores with the new password, the old one fails', async () => {
    const newPassword = 'dave new password';
    await dave.changePassword(PW.dave, newPassword);
    PW.dave = newPassword; // later steps (the CLI) log in as dave
    const fresh = await open('dave', 'dave-tablet');
    await expect(fresh.login('dave password 12')).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    await fresh.login(newPassword); // server login and key backup both open with the new password
    expect((await readAll(fresh, files[0]!)).equals(files[0]!.plain)).toBe(true);
    await fresh.revokeDevice(fresh.deviceId);
  });

  it('revoking a device drops its pending acknowledgements and refuses its session at once', async () => {
    const pending = await send('before-revoke');
    const devices = await bobPhone.listDevices();
    expect(devices.map((d) => d.deviceId).sort()).toEqual([bobPhone.deviceId, bobLaptop.deviceId].sort());
    const expected = (await alice.status(pending.sent.pointerId)).expected;
    expect(expected).toContainEqual({ identity: 'bob', deviceId: bobLaptop.deviceId });

    await bobPhone.revokeDevice(bobLaptop.deviceId);
    expect((await bobPhone.listDevices()).map((d) => d.deviceId)).toEqual([bobPhone.deviceId]);
    const status = await alice.status(pending.sent.pointerId);
    expect(status.dropped).toContainEqual({ identity: 'bob', deviceId: bobLaptop.deviceId });

    // The revoked client's next server call fails, and it gets no new Sync or Virgil token.
    const revoked = { code: 'DEVICE_REVOKED', status: 403 };
    await expect(bobLaptop.listGroups()).rejects.toMatchObject(revoked);
    const laptopApi = await apiAs('bob-laptop', 'bob', bobLaptop.deviceId);
    // The server does not check receipt signatures (status() does): a placeholder is enough here.
    const receipt = {
      objectId: pending.sent.objectId,
      envelopeSha256: envelopeSha256(pending.sent.pointer.envelope),
      signature: 'AA==',
    };
    await expect(laptopApi.ack(pending.sent.pointerId, receipt)).rejects.toMatchObject(revoked);
    await expect(laptopApi.syncToken()).rejects.toMatchObject(revoked);
    await expect(laptopApi.virgilToken()).rejects.toMatchObject(revoked);
    await expect(laptopApi.registerDevice(bobLaptop.deviceId)).rejects.toMatchObject(revoked);
    // For good: even with the password, this device id cannot start a session again.
    await expect(bobLaptop.login(PW.bob)).rejects.toMatchObject(revoked);
    // The remaining endpoints still acknowledge on their own.
    const phoneApi = await apiAs('bob-phone', 'bob', bobPhone.deviceId);
    expect((await phoneApi.ack(pending.sent.pointerId, receipt)).pointerId).toBe(pending.sent.pointerId);
    expect((await bobPhone.listGroups()).map((g) => g.groupId)).toContain(groupId);
  });

  it('unregister revokes the key, deletes the backup and wipes local state', async () => {
    const home = join(dir, 'carol-desk', 'carol');
    await carol.unregister(PW.carol);
    await expect(stat(home)).rejects.toMatchObject({ code: 'ENOENT' });
    // No public key any more: nobody can share with carol.
    await expect(alice.createGroup(['carol'])).rejects.toMatchObject({ code: 'IDENTITY_NOT_FOUND' });
  });

  it('drives the lifecycle from the CLI with --json', async () => {
    const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
    const env = { ...process.env, ...stack.clientEnv, CONDUIT_HOME: join(dir, 'dave-cli'), CONDUIT_PASSWORD: PW.dave };
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [cli, '--json', '--as', 'dave', ...args], { env, timeout: 60_000 }, (err, so, se) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: so, stderr: se }),
        );
      });

    const login = await run(['login']);
    expect(login.code, login.stderr).toBe(0);
    const backup = await run(['identity', 'backup']);
    expect(JSON.parse(backup.stdout)).toEqual({ identity: 'dave', backup: 'exists' });
    const groups = JSON.parse((await run(['group', 'ls'])).stdout) as { groups: { groupId: string }[] };
    expect(groups.groups.map((g) => g.groupId)).toContain(groupId);
    const devices = JSON.parse((await run(['device', 'ls'])).stdout) as { devices: { deviceId: string }[] };
    expect(devices.devices.map((d) => d.deviceId)).toContain(dave.deviceId);

    const refused = await run(['group', 'add', groupId, 'alice']);
    expect(refused.code).toBe(3);
    const error = (JSON.parse(refused.stderr) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(/owner/);

    // Revoked from another device: the CLI says why and how to use this machine again.
    const { deviceId } = JSON.parse(login.stdout) as { deviceId: string };
    await dave.revokeDevice(deviceId);
    const gone = await run(['group', 'ls']);
    expect(gone.code).toBe(3);
    const revoked = (JSON.parse(gone.stderr) as { error: { code: string; hint: string } }).error;
    expect(revoked.code).toBe('DEVICE_REVOKED');
    expect(revoked.hint).toMatch(/rm -r <home>\/<identity>.*conduit login/);
  });
});
