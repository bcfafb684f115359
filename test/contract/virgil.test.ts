import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EThree } from '@virgilsecurity/e3kit-node';
import {
  createVirgilApp,
  startVirgilDirectory,
  type VirgilAppCredentials,
  type VirgilDirectory,
} from '@conduit/devstack';
import { VirgilTokenIssuer } from '@conduit/server';
import { closeEThree, EncryptedKeyStore, openEThree } from '@conduit/client';

// Contract: the unmodified @virgilsecurity/e3kit-node 2.5.1 works against the local Virgil directory
// through `apiUrl`, with card verification restored by openEThree, tokens minted by the server's
// VirgilTokenIssuer, and the directory's HTTP surface refusing what the cloud would refuse.
describe('local Virgil directory with e3kit-node', () => {
  let root: string;
  let app: VirgilAppCredentials;
  let dir: VirgilDirectory;
  const extraDirs: VirgilDirectory[] = [];
  const opened: EThree[] = [];

  const mint = (identity: string, ttlSeconds = 3600, creds: VirgilAppCredentials = app) =>
    new VirgilTokenIssuer({ ...creds, ttlSeconds }).issue(identity).then((t) => t.value);

  /** Each EThree gets its own storage root: LevelDB locks are per directory and per process. */
  async function open(
    identity: string,
    opts: { directory?: VirgilDirectory; servicePublicKey?: string; getToken?: () => Promise<string> } = {},
  ): Promise<EThree> {
    const directory = opts.directory ?? dir;
    const storageDir = await mkdtemp(join(root, `${identity}-`));
    const eThree = await openEThree({
      identity,
      storageDir,
      keyEntryStorage: await keyStore(storageDir),
      apiUrl: directory.url,
      servicePublicKey: opts.servicePublicKey ?? directory.servicePublicKey,
      getToken: opts.getToken ?? (() => mint(identity)),
    });
    opened.push(eThree);
    return eThree;
  }

  /** The encrypted key store the client uses, at a test-cheap scrypt cost. */
  const keyStore = (storageDir: string) =>
    EncryptedKeyStore.unlock(join(storageDir, 'keystore.json'), 'contract test password', { N: 2 ** 10, r: 8, p: 1 });

  async function call(
    path: string,
    init: { method?: string; token?: string; body?: string; headers?: Record<string, string> } = {},
    directory: VirgilDirectory = dir,
  ): Promise<{ status: number; body: unknown; hash: string | null }> {
    const res = await fetch(directory.url + path, {
      method: init.method ?? 'POST',
      headers: {
        ...(init.token ? { authorization: `Virgil ${init.token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.body,
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? JSON.parse(text) : undefined,
      hash: res.headers.get('virgil-keyknox-hash'),
    };
  }

  const groupId = `group-${randomBytes(8).toString('hex')}`;
  let alice: EThree;
  let bob: EThree;
  let carol: EThree;
  let firstCiphertext: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'conduit-virgil-'));
    app = await createVirgilApp();
    dir = await startVirgilDirectory({ ...app, dataFile: join(root, 'directory.json') });
    [alice, bob, carol] = await Promise.all([open('alice'), open('bob'), open('carol')]);
  });

  afterAll(async () => {
    for (const eThree of opened) await closeEThree(eThree);
    for (const directory of [dir, ...extraDirs]) await directory?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('registers identities and finds their cards', async () => {
    await alice.register();
    await bob.register();
    await carol.register();
    const found = await alice.findUsers(['bob', 'carol']);
    expect(Object.keys(found).sort()).toEqual(['bob', 'carol']);
    expect(found.bob?.identity).toBe('bob');
    // The card carries the directory's countersignature next to the owner's self signature.
    expect(found.bob?.signatures.map((s) => s.signer).sort()).toEqual(['self', 'virgil']);
    await expect(alice.findUsers('nobody')).rejects.toMatchObject({ name: 'UsersNotFoundError' });
  });

  it('shares a group: alice creates it with bob, bob loads it and decrypts what alice sealed', async () => {
    const bobCard = await alice.findUsers('bob');
    const aliceGroup = await alice.createGroup(groupId, bobCard);
    expect([...aliceGroup.participants].sort()).toEqual(['alice', 'bob']);
    firstCiphertext = (await aliceGroup.encrypt('hello bob')) as string;

    const aliceCard = await bob.findUsers('alice');
    const bobGroup = await bob.loadGroup(groupId, aliceCard);
    expect([...bobGroup.participants].sort()).toEqual(['alice', 'bob']);
    expect(await bobGroup.decrypt(firstCiphertext, aliceCard)).toBe('hello bob');
    // Sender verification is real: the same message does not verify as carol's.
    await expect(bobGroup.decrypt(firstCiphertext, await bob.findUsers('carol'))).rejects.toThrow();
  });

  it('adds carol later (she reads history) and removes bob (he cannot read what follows)', async () => {
    const aliceGroup = await alice.loadGroup(groupId, await alice.findUsers('alice'));
    await aliceGroup.add(await alice.findUsers('carol'));
    const aliceCardForCarol = await carol.findUsers('alice');
    const carolGroup = await carol.loadGroup(groupId, aliceCardForCarol);
    expect([...carolGroup.participants].sort()).toEqual(['alice', 'bob', 'carol']);
    expect(await carolGroup.decrypt(firstCiphertext, aliceCardForCarol)).toBe('hello bob');

    const aliceCardForBob = await bob.findUsers('alice');
    const staleBobGroup = await bob.loadGroup(groupId, aliceCardForBob);
    await aliceGroup.remove(await alice.findUsers('bob'));
    const afterRemoval = (await aliceGroup.encrypt('bob is gone')) as string;

    await carolGroup.update();
    expect([...carolGroup.participants].sort()).toEqual(['alice', 'carol']);
    expect(await carolGroup.decrypt(afterRemoval, aliceCardForCarol)).toBe('bob is gone');
    await expect(staleBobGroup.decrypt(afterRemoval, aliceCardForBob)).rejects.toThrow();
    await expect(bob.loadGroup(groupId, aliceCardForBob)).rejects.toMatchObject({ name: 'GroupError' });
  });

  it('backs up a private key and restores it on a fresh device with the password only', async () => {
    await alice.backupPrivateKey('correct horse battery staple');
    const device = await open('alice');
    expect(await device.hasLocalPrivateKey()).toBe(false);
    await expect(device.restorePrivateKey('wrong password')).rejects.toMatchObject({
      name: 'WrongKeyknoxPasswordError',
    });
    await device.restorePrivateKey('correct horse battery staple');
    expect(await device.hasLocalPrivateKey()).toBe(true);
    const aliceCard = await device.findUsers('alice');
    const group = await device.loadGroup(groupId, aliceCard);
    expect(await group.decrypt(firstCiphertext, aliceCard)).toBe('hello bob');
  });

  it('answers an expired token with 401/20304, and e3kit retries with a fresh token', async () => {
    // A directory whose clock runs two minutes ahead: a 60 s token is fresh to the client (so no
    // client-side renewal hides the path) but expired to the directory.
    const ahead = await startVirgilDirectory({ ...app, now: () => Date.now() + 120_000 });
    extraDirs.push(ahead);
    const shortLived = await mint('dave', 60);
    expect((await call('/keyknox/v1', { method: 'GET', token: shortLived }, ahead)).body).toMatchObject({
      code: 20304,
    });
    expect((await call('/keyknox/v1', { method: 'GET', token: shortLived })).status).toBe(200);

    const tokens = [shortLived, await mint('dave')];
    let calls = 0;
    const dave = await open('dave', { directory: ahead, getToken: async () => tokens[Math.min(calls++, 1)]! });
    await dave.register();
    expect(calls).toBe(2);
    expect((await dave.findUsers('dave')).identity).toBe('dave');
  });

  it('rejects cards countersigned by a key other than the configured directory key', async () => {
    const other = await startVirgilDirectory(app);
    extraDirs.push(other);
    const erin = await open('erin', { directory: other });
    await erin.register();
    // Trusting the main directory's key, the other directory's cards fail verification.
    const frank = await open('frank', { directory: other, servicePublicKey: dir.servicePublicKey });
    await expect(frank.findUsers('erin')).rejects.toMatchObject({ name: 'CardVerificationError' });
    // Positive control: the right key accepts the same card.
    const grace = await open('grace', { directory: other });
    expect((await grace.findUsers('erin')).identity).toBe('erin');
  });

  it('follows key rotation and revocation: rotate, unregister, register again', async () => {
    const kate = await open('kate');
    await kate.register();
    const before = await kate.findUsers('kate');
    await kate.cleanup(); // rotation is for a lost key: e3kit refuses while one is stored locally
    await kate.rotatePrivateKey(); // publishes a card whose previous_card_id names the live one
    const after = await kate.findUsers('kate');
    expect(after.id).not.toBe(before.id);
    expect(after.previousCardId).toBe(before.id);
    await kate.unregister(); // revokes the live card and its predecessor
    await expect(kate.findUsers('kate')).rejects.toMatchObject({ name: 'UsersNotFoundError' });
    await kate.register();
    expect((await kate.findUsers('kate')).previousCardId).toBeUndefined();
  });

  it('checks published cards: token identity, self signature, no duplicates', async () => {
    const search = await call('/card/v5/actions/search', {
      token: await mint('alice'),
      body: JSON.stringify({ identities: ['alice'] }),
    });
    const [card] = search.body as { content_snapshot: string; signatures: { signer: string }[] }[];
    const ownSigned = { ...card!, signatures: card!.signatures.filter((s) => s.signer === 'self') };
    const publish = async (identity: string, body: unknown) =>
      call('/card/v5', { token: await mint(identity), body: JSON.stringify(body) });
    expect(await publish('bob', ownSigned)).toMatchObject({ status: 403, body: { code: 40012 } });
    expect(await publish('alice', ownSigned)).toMatchObject({ status: 409, body: { code: 40014 } });
    const content = JSON.parse(Buffer.from(card!.content_snapshot, 'base64').toString('utf8'));
    const tampered = Buffer.from(JSON.stringify({ ...content, created_at: content.created_at + 1 })).toString('base64');
    expect(await publish('alice', { ...ownSigned, content_snapshot: tampered })).toMatchObject({
      status: 400,
      body: { code: 40011 },
    });
  });

  it('refuses to open against a custom directory without its key, or with a token of another identity', async () => {
    const base = {
      storageDir: join(root, 'refused'),
      apiUrl: dir.url,
      getToken: () => mint('heidi'),
      keyEntryStorage: await keyStore(join(root, 'refused')),
    };
    await expect(openEThree({ ...base, identity: 'heidi' })).rejects.toMatchObject({ code: 'CONFIG' });
    await expect(
      openEThree({ ...base, identity: 'ivan', servicePublicKey: dir.servicePublicKey }),
    ).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringContaining('identity') });
    await expect(openEThree({ ...base, identity: 'heidi', servicePublicKey: 'bm90IGEga2V5' })).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('servicePublicKey'),
    });
  });

  it('refuses tokens it cannot verify: another app key, another app, none', async () => {
    const otherApp = await createVirgilApp();
    const forged = await mint('alice', 3600, { ...app, appPrivateKey: otherApp.appPrivateKey });
    const foreign = await mint('alice', 3600, otherApp);
    const body = JSON.stringify({ identities: ['alice'] });
    for (const token of [forged, foreign, `${forged}x`]) {
      const res = await call('/card/v5/actions/search', { token, body });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 20303, message: expect.any(String) });
    }
    expect((await call('/card/v5/actions/search', { body })).status).toBe(401);
    expect((await call('/card/v5/actions/search', { token: await mint('alice'), body })).status).toBe(200);
  });

  it('answers malformed, invalid and oversized bodies with 4xx {code, message}', async () => {
    const token = await mint('alice');
    const malformed = await call('/card/v5/actions/search', { token, body: '{"identities": [' });
    expect(malformed).toMatchObject({ status: 400, body: { code: 40000, message: expect.any(String) } });
    const invalid = await call('/card/v5/actions/search', { token, body: JSON.stringify({ identities: 'alice' }) });
    expect(invalid).toMatchObject({ status: 400, body: { code: 40001, message: expect.any(String) } });
    const oversized = await call('/keyknox/v1', {
      method: 'PUT',
      token,
      body: JSON.stringify({ meta: 'AAAA', value: 'A'.repeat(1024 * 1024) }),
    });
    expect(oversized).toMatchObject({ status: 413, body: { code: expect.any(Number), message: expect.any(String) } });
    expect((await call('/nowhere', { token })).status).toBe(404);
  });

  it('keeps Keyknox hashes: stale pushes fail with 409/50010, removing a reader keeps the hash', async () => {
    const token = await mint('judy');
    const v1 = JSON.stringify({ meta: 'bWV0YQ==', value: 'dmFsdWU=' });
    expect(await call('/keyknox/v1', { method: 'GET', token })).toMatchObject({
      status: 200,
      body: { meta: '', value: '' },
      hash: null,
    });
    const first = await call('/keyknox/v1', { method: 'PUT', token, body: v1 });
    expect(first.hash).toEqual(expect.any(String));
    expect(await call('/keyknox/v1', { method: 'PUT', token, body: v1 })).toMatchObject({
      status: 409,
      body: { code: 50010 },
    });
    const second = await call('/keyknox/v1', {
      method: 'PUT',
      token,
      body: v1,
      headers: { 'virgil-keyknox-previous-hash': first.hash! },
    });
    expect(second.status).toBe(200);
    expect(second.hash).not.toBe(first.hash);

    const entry = { root: 'group-sessions', path: 'abcdef0123', key: '0' };
    const push = (identities: string[], hash?: string) =>
      call('/keyknox/v2/push', {
        token,
        body: JSON.stringify({ ...entry, identities, meta: 'bWV0YQ==', value: 'dmFsdWU=' }),
        headers: hash ? { 'virgil-keyknox-previous-hash': hash } : {},
      });
    const pushed = await push(['judy', 'mallory']);
    expect(pushed.body).toMatchObject({ owner: 'judy', identities: ['judy', 'mallory'] });
    expect((await push(['judy'])).body).toMatchObject({ code: 50010 });
    await call('/keyknox/v2/reset', { token, body: JSON.stringify({ ...entry, identity: 'mallory' }) });
    const pulled = await call('/keyknox/v2/pull', { token, body: JSON.stringify({ ...entry, identity: 'judy' }) });
    expect(pulled).toMatchObject({ status: 200, hash: pushed.hash, body: { identities: ['judy'] } });
    const missing = await call('/keyknox/v2/pull', {
      token,
      body: JSON.stringify({ ...entry, key: '7', identity: 'judy' }),
    });
    expect(missing).toMatchObject({ status: 200, body: { value: '' }, hash: null });
    expect((await push(['judy', 'mallory'], pushed.hash!)).status).toBe(200);
  });

  it('restarts from its data file with cards, Keyknox and keys intact', async () => {
    const { servicePublicKey } = dir;
    await dir.close();
    dir = await startVirgilDirectory({ ...app, dataFile: join(root, 'directory.json') });
    expect(dir.servicePublicKey).toBe(servicePublicKey);
    const device = await open('alice');
    expect((await device.findUsers('alice')).identity).toBe('alice');
    // The backup decrypts only if Keyknox kept it and the Pythia key survived.
    await device.restorePrivateKey('correct horse battery staple');
    expect(await device.hasLocalPrivateKey()).toBe(true);
  });
});
