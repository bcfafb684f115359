import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EThree } from '@virgilsecurity/e3kit-node';
import { VirgilCardCrypto, VirgilCrypto } from 'virgil-crypto';
import { CallbackJwtProvider, CardManager } from 'virgil-sdk';
import {
  closeEThree,
  ConduitClient,
  EncryptedKeyStore,
  HttpClient,
  openEThree,
  type SentFile,
  signKeyTransition,
} from '@conduit/client';
import { startLocalStack, type LocalStack, type VirgilAppCredentials } from '@conduit/devstack';
// Source imports: the server's own token issuer (what an attacker holding its app key runs), the
// client's E3Kit opener and statement signer (to act as the attacker's endpoint).
import { createKeys, VirgilTokenIssuer } from '@conduit/server';
import { clientOn } from './support/stack-client.js';
import { initVirgilWasm } from '@conduit/shared/virgil-wasm';
import { openRedis } from './support/redis.js';

// Issue 10 C on the real local stack with the unmodified SDKs: an attacker with the server's power
// (the Virgil app key) publishes a new card for bob through the directory's own API. alice's
// endpoint pinned bob's card and refuses to share with, send to or accept from the new one until
// alice trusts it; a rotation bob signs with his old key is followed without asking.
describe('adversary: a card replaced through the directory', () => {
  let dir: string;
  let stack: LocalStack;
  let issuer: VirgilTokenIssuer;
  let crypto: VirgilCrypto;
  const clients: ConduitClient[] = [];
  const PW = { alice: 'alice password 1', bob: 'bob password 123', dave: 'dave password 12' };
  let alice: ConduitClient;
  let bob: ConduitClient;
  let dave: ConduitClient;
  let groupId: string;
  let fromBob: SentFile;
  let fromAlice: SentFile;
  let redisKeyPrefix: string;
  let attacker: { keys: ReturnType<VirgilCrypto['generateKeys']>; cardId: string };

  const open = async (identity: string, device: string, password: string) => {
    const client = await ConduitClient.open({
      ...clientOn(stack, join(dir, device), identity),
      keyPassword: async () => password,
    });
    clients.push(client);
    return client;
  };

  const file = async (label: string) => {
    const path = join(dir, `${label}.bin`);
    await writeFile(path, Buffer.concat([Buffer.from(`MARKER-${label} `), randomBytes(5000)]));
    return path;
  };

  /** The directory's card API as `identity`, with a token minted from the app key (the server's power). */
  const cardsAs = (identity: string) =>
    new CardManager({
      cardCrypto: new VirgilCardCrypto(crypto),
      // The attacker needs no verification of what the directory echoes back.
      cardVerifier: { verifyCard: () => true },
      accessTokenProvider: new CallbackJwtProvider(async () => (await issuer.issue(identity)).value),
      retryOnUnauthorized: false,
      apiUrl: stack.virgilApiUrl,
    });

  /** Publishes a new card for `identity` superseding its current one; findUsers then returns it. */
  const replaceCard = async (identity: string) => {
    const cards = cardsAs(identity);
    const [current] = await cards.searchCards(identity);
    const keys = crypto.generateKeys();
    const card = await cards.publishCard({ ...keys, identity, previousCardId: current!.id });
    return { keys, cardId: card.id, previousCardId: current!.id };
  };

  /** An E3Kit endpoint for bob holding the attacker's private key. */
  const attackerEThree = async (): Promise<EThree> => {
    const store = await EncryptedKeyStore.unlock(
      join(dir, 'attacker', `ks-${randomBytes(4).toString('hex')}.json`),
      'x'.repeat(12),
      {
        N: 2 ** 10,
        r: 8,
        p: 1,
      },
    );
    await store.save({ name: 'bob', value: crypto.exportPrivateKey(attacker.keys.privateKey).toString('base64') });
    return openEThree({
      identity: 'bob',
      storageDir: join(dir, 'attacker', randomBytes(4).toString('hex')),
      apiUrl: stack.virgilApiUrl,
      servicePublicKey: stack.virgilServicePublicKey,
      getToken: async () => (await issuer.issue('bob')).value,
      keyEntryStorage: store,
    });
  };

  /** Whether the attacker's key can open the group key (E3Kit finds a ticket sealed for it). */
  const attackerCanLoadGroup = async (): Promise<boolean> => {
    const e3 = await attackerEThree();
    try {
      await e3.loadGroup(groupId, await e3.findUsers('alice'));
      return true;
    } catch {
      return false;
    } finally {
      await closeEThree(e3);
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-adversary-identity-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    // What the server holds: the Virgil app key its token issuer signs with.
    const secrets = JSON.parse(await readFile(join(dir, 'stack', 'secrets.json'), 'utf8')) as {
      virgilApp: VirgilAppCredentials;
      redisKeyPrefix: string;
    };
    redisKeyPrefix = secrets.redisKeyPrefix;
    issuer = new VirgilTokenIssuer({ ...secrets.virgilApp, ttlSeconds: 600 });
    await initVirgilWasm();
    crypto = new VirgilCrypto();
    alice = await open('alice', 'alice-laptop', PW.alice);
    await alice.register(PW.alice);
    bob = await open('bob', 'bob-laptop', PW.bob);
    await bob.register(PW.bob);
    dave = await open('dave', 'dave-desk', PW.dave);
    await dave.register(PW.dave);
    groupId = (await alice.createGroup(['bob', 'dave'])).groupId;
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('pins on first use; both ends compute the same safety number', async () => {
    fromAlice = await alice.sendFile(groupId, await file('first'));
    expect((await bob.readRange(fromAlice.pointer, 0, 10)).toString()).toBe('MARKER-fir');
    fromBob = await bob.sendFile(groupId, await file('from-bob'));
    expect((await alice.readRange(fromBob.pointer, 0, 10)).toString()).toBe('MARKER-fro');

    const aliceSide = await alice.safetyNumber('bob');
    const bobSide = await bob.safetyNumber('alice');
    expect(aliceSide.safetyNumber).toMatch(/^\d{60}$/);
    expect(bobSide.safetyNumber).toBe(aliceSide.safetyNumber);
    expect(aliceSide).toMatchObject({ identity: 'alice', peer: 'bob' });
  });

  it('refuses a group whose owner the server reports differently than when it was joined', async () => {
    const redis = openRedis(stack.redisUrl);
    const groupKey = createKeys(redisKeyPrefix).group(groupId);
    try {
      expect(await redis.hget(groupKey, 'owner')).toBe('alice');
      await redis.hset(groupKey, 'owner', 'dave'); // the server's word, changed
      // A fresh client of bob's device: nothing cached but the pins on disk.
      await bob.close();
      bob = await open('bob', 'bob-laptop', PW.bob);
      await expect(bob.readRange(fromAlice.pointer, 0, 10)).rejects.toMatchObject({
        code: 'GROUP_OWNER_CHANGED',
        message: expect.stringMatching(/dave.*alice/) as unknown,
      });
      await redis.hset(groupKey, 'owner', 'alice');
      expect((await bob.getGroup(groupId)).owner).toBe('alice'); // refreshes the client's view
      expect((await bob.readRange(fromAlice.pointer, 0, 10)).toString()).toBe('MARKER-fir');
    } finally {
      await redis.hset(groupKey, 'owner', 'alice');
      redis.disconnect();
    }
  });

  it('follows a rotation signed with the old key, without asking', async () => {
    const before = await alice.safetyNumber('dave');
    await dave.rotateKey(PW.dave); // old key on the device: statement signed and published
    await alice.reAddMember(groupId, 'dave'); // new card reached through the chain
    const sent = await alice.sendFile(groupId, await file('after-dave-rotation'));
    expect((await dave.readRange(sent.pointer, 0, 10)).toString()).toBe('MARKER-aft');

    const after = await alice.safetyNumber('dave');
    expect(after.safetyNumber).not.toBe(before.safetyNumber);
    expect(after.pinnedCardId).not.toBe(before.pinnedCardId);
    expect((await dave.safetyNumber('alice')).safetyNumber).toBe(after.safetyNumber);
  });

  it('refuses the replaced card: no send, no receive, no re-add, even with a statement signed by the wrong key', async () => {
    const pinned = await alice.safetyNumber('bob');
    const replaced = await replaceCard('bob');
    attacker = { keys: replaced.keys, cardId: replaced.cardId };
    // The attacker also plants a statement, through bob's own session, signed by its own key.
    const session = JSON.parse(await readFile(join(dir, 'bob-laptop', 'bob', 'session.json'), 'utf8')) as {
      token: string;
    };
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    api.setSession(session.token);
    api.setDevice(bob.deviceId);
    await api.putKeyTransition(
      signKeyTransition(crypto, attacker.keys.privateKey, {
        identity: 'bob',
        oldCardId: replaced.previousCardId,
        next: { cardId: attacker.cardId, publicKey: crypto.exportPublicKey(attacker.keys.publicKey) },
        at: new Date(),
      }),
    );
    expect((await api.keyTransitions('bob')).transitions).toHaveLength(1);

    const changed = { code: 'IDENTITY_CHANGED', message: expect.stringMatching(/bob/) as unknown };
    await expect(alice.sendFile(groupId, await file('refused'))).rejects.toMatchObject(changed);
    // A file claiming bob as its sender is refused before anything is decrypted.
    await expect(alice.readRange(fromBob.pointer, 0, 10)).rejects.toMatchObject(changed);
    await expect(alice.reAddMember(groupId, 'bob')).rejects.toMatchObject(changed);
    expect(await attackerCanLoadGroup()).toBe(false); // nothing was shared with the attacker's key

    // Unchanged: the number still covers the pinned (real) key.
    expect((await alice.safetyNumber('bob')).safetyNumber).toBe(pinned.safetyNumber);

    const trusted = await alice.trust('bob');
    expect(trusted).toMatchObject({
      peer: 'bob',
      changed: true,
      previous: { cardId: pinned.pinnedCardId, safetyNumber: pinned.safetyNumber },
      current: { cardId: attacker.cardId },
    });
    const after = await alice.safetyNumber('bob');
    expect(after.safetyNumber).not.toBe(pinned.safetyNumber);
    expect(after.pinnedCardId).toBe(attacker.cardId);
    expect((await alice.sendFile(groupId, await file('after-trust'))).pointerId).toBeTruthy();

    // The refusal above is what kept the key from the attacker: once trusted, a re-add shares it.
    await alice.reAddMember(groupId, 'bob');
    expect(await attackerCanLoadGroup()).toBe(true);
  });

  it('verify --json and trust from the CLI, with their exit codes', async () => {
    const cli = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));
    const env = {
      ...process.env,
      ...stack.clientEnv,
      CONDUIT_HOME: join(dir, 'alice-cli'),
      CONDUIT_PASSWORD: PW.alice,
    };
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [cli, '--as', 'alice', ...args], { env, timeout: 60_000 }, (err, so, se) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout: so, stderr: se }),
        );
      });

    expect((await run(['login'])).code).toBe(0);
    const verify = await run(['--json', 'verify', 'bob']);
    expect(verify.code, verify.stderr).toBe(0);
    const shown = JSON.parse(verify.stdout) as {
      identity: string;
      peer: string;
      safetyNumber: string;
      pinnedCardId: string;
    };
    expect(shown).toEqual({
      identity: 'alice',
      peer: 'bob',
      safetyNumber: (await alice.safetyNumber('bob')).safetyNumber, // same keys: same number on another device
      pinnedCardId: attacker.cardId,
    });
    const plain = await run(['verify', 'bob']);
    expect(plain.stdout).toMatch(/(\d{5} ){11}\d{5}/);
    expect(plain.stdout).toMatch(/out of band|in person/);

    // Another replacement: this device refuses it (exit 5, with the way out), until `trust`.
    const again = await replaceCard('bob');
    const refused = await run(['--json', 'group', 'readd', groupId, 'bob']);
    expect(refused.code).toBe(5);
    const error = (JSON.parse(refused.stderr) as { error: { code: string; hint: string } }).error;
    expect(error.code).toBe('IDENTITY_CHANGED');
    expect(error.hint).toMatch(/conduit verify.*conduit trust/);

    const trust = await run(['--json', 'trust', 'bob']);
    expect(trust.code, trust.stderr).toBe(0);
    expect(JSON.parse(trust.stdout)).toMatchObject({ changed: true, current: { cardId: again.cardId } });
    const text = await run(['trust', 'bob']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/new safety number: (\d{5} ){11}\d{5}/);
    expect((await run(['trust', 'alice'])).code).toBe(2); // one's own key is not pinned
    expect((await run(['group', 'readd', groupId, 'bob'])).code).toBe(0);
  });
});
