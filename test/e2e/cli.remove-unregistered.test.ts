import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeEThree, ConduitClient, EncryptedKeyStore, openEThree } from '@conduit/client';
import { startLocalStack, type LocalStack, type VirgilAppCredentials } from '@conduit/devstack';
// Source imports: the server's token issuer and the client's E3Kit opener, to act as someone who
// kept a copy of carol's private key after she unregistered.
import { VirgilTokenIssuer } from '@conduit/server';
import { runCli } from './support/cli.js';
import { clientOn } from './support/stack-client.js';

// Issue 11 item 9: a member whose key is gone (it unregistered: no card in the directory) can
// still be removed, with a new key epoch sealed for the remaining participants only.
describe('removing a member who unregistered', () => {
  let dir: string;
  let stack: LocalStack;
  const PW = { alice: 'alice password 1', bob: 'bob password 123', carol: 'carol password 1' };
  type Who = keyof typeof PW;
  const clients: ConduitClient[] = [];
  const open = async (who: Who) => {
    const client = await ConduitClient.open({
      ...clientOn(stack, join(dir, `${who}-home`), who),
      keyPassword: async () => PW[who],
    });
    clients.push(client);
    return client;
  };

  let issuer: VirgilTokenIssuer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-unregistered-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    const secrets = JSON.parse(await readFile(join(dir, 'stack', 'secrets.json'), 'utf8')) as {
      virgilApp: VirgilAppCredentials;
    };
    issuer = new VirgilTokenIssuer({ ...secrets.virgilApp, ttlSeconds: 600 });
  });

  /** Whether carol's kept private key still opens the group key's latest epoch. */
  const keptKeyCanLoad = async (groupId: string): Promise<boolean> => {
    const store = await EncryptedKeyStore.unlock(join(dir, 'carol-kept.json'), PW.carol);
    const e3 = await openEThree({
      identity: 'carol',
      storageDir: join(dir, 'carol-kept', randomBytes(4).toString('hex')),
      apiUrl: stack.virgilApiUrl,
      servicePublicKey: stack.virgilServicePublicKey,
      getToken: async () => (await issuer.issue('carol')).value,
      keyEntryStorage: store,
    });
    try {
      await e3.loadGroup(groupId, await e3.findUsers('alice'));
      return true;
    } catch {
      return false;
    } finally {
      await closeEThree(e3);
    }
  };

  afterAll(async () => {
    for (const c of clients) await c.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the owner removes it from the CLI; files sent afterwards reach the others', async () => {
    const alice = await open('alice');
    await alice.register(PW.alice);
    const bob = await open('bob');
    await bob.register(PW.bob);
    const carol = await open('carol');
    await carol.register(PW.carol);
    const { groupId } = await alice.createGroup(['bob', 'carol']);
    // Someone keeps carol's private key (her key store) before she unregisters.
    await copyFile(join(dir, 'carol-home', 'carol', 'e3kit', 'keystore.json'), join(dir, 'carol-kept.json'));
    await carol.unregister(PW.carol);
    expect(await keptKeyCanLoad(groupId)).toBe(true); // the removal below is what ends it
    expect((await alice.getGroup(groupId)).members).toContain('carol'); // still listed
    await alice.close();

    const env = { ...stack.clientEnv, CONDUIT_HOME: join(dir, 'alice-home'), CONDUIT_PASSWORD: PW.alice };
    const r = await runCli(['--as', 'alice', 'group', 'remove', groupId, 'carol'], env);
    expect(r.stderr).not.toContain('IDENTITY_NOT_FOUND');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`carol removed from group ${groupId}`);
    expect(await keptKeyCanLoad(groupId)).toBe(false); // no ticket of the new epoch is sealed for it

    const file = join(dir, 'after.bin');
    const data = randomBytes(5000);
    await writeFile(file, data);
    const sent = await runCli(['--as', 'alice', 'send', groupId, file], env);
    expect(sent.code, sent.stderr).toBe(0);
    const inbox = join(dir, 'bob-inbox');
    await mkdir(inbox);
    const got = await bob.receiveNext(groupId, { outDir: inbox, timeoutMs: 30_000 });
    expect(await readFile(got.path)).toEqual(data);
    expect((await bob.getGroup(groupId)).members).toEqual(['bob']);
  });
});
