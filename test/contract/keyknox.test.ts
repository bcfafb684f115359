import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CloudKeyStorage,
  KeyknoxClient,
  KeyknoxCrypto,
  KeyknoxManager,
  type KeyknoxClientError,
} from '@virgilsecurity/keyknox';
import { VirgilCrypto } from 'virgil-crypto';
import { CachingJwtProvider } from 'virgil-sdk';
import {
  createVirgilApp,
  startVirgilDirectory,
  type VirgilAppCredentials,
  type VirgilDirectory,
} from '@conduit/devstack';
import { VirgilTokenIssuer } from '@conduit/server';
import { initVirgilWasm } from '@conduit/shared/virgil-wasm';

// Contract: the unmodified @virgilsecurity/keyknox 1.0.3 sees the versions the Keyknox cloud
// answers (its own suite, KTC-1..5 and KTC-14: "1.0" first, the major version raised by every
// push that replaces a value and by the reset of a value, "1.0" for the reset of nothing).
describe('local Keyknox v1 with @virgilsecurity/keyknox', () => {
  let root: string;
  let app: VirgilAppCredentials;
  let dir: VirgilDirectory;
  let counter = 0;

  const provider = (identity: string) =>
    new CachingJwtProvider(() =>
      new VirgilTokenIssuer({ ...app, ttlSeconds: 3600 }).issue(identity).then((t) => t.value),
    );
  const client = (identity: string) => new KeyknoxClient(provider(identity), dir.url);
  const fresh = () => `keyknox-${++counter}`;

  beforeAll(async () => {
    await initVirgilWasm();
    root = await mkdtemp(join(tmpdir(), 'conduit-keyknox-'));
    app = await createVirgilApp();
    dir = await startVirgilDirectory({ ...app, dataFile: join(root, 'directory.json') });
  });

  afterAll(async () => {
    await dir?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('counts versions across push, push, reset; the emptied entry keeps a hash the next push needs', async () => {
    const identity = fresh();
    const kk = client(identity);
    expect(await kk.v1Pull()).toMatchObject({ meta: '', value: '', version: '1.0', keyknoxHash: undefined });

    const first = await kk.v1Push('bWV0YTE=', 'dmFsdWUx');
    expect(first).toMatchObject({ meta: 'bWV0YTE=', value: 'dmFsdWUx', version: '1.0' });
    const second = await kk.v1Push('bWV0YTI=', 'dmFsdWUy', first.keyknoxHash);
    expect(second).toMatchObject({ meta: 'bWV0YTI=', value: 'dmFsdWUy', version: '2.0' });
    expect(second.keyknoxHash).not.toBe(first.keyknoxHash);
    expect(await kk.v1Pull()).toMatchObject({ version: '2.0', keyknoxHash: second.keyknoxHash });

    const reset = await kk.v1Reset();
    expect(reset).toMatchObject({ meta: '', value: '', version: '3.0' });
    expect(reset.keyknoxHash).toEqual(expect.any(String));
    expect(await kk.v1Pull()).toMatchObject({ meta: '', value: '', version: '3.0', keyknoxHash: reset.keyknoxHash });

    await expect(kk.v1Push('bWV0YTM=', 'dmFsdWUz')).rejects.toMatchObject({
      name: 'KeyknoxClientError',
      status: 409,
      code: 50010,
    } satisfies Partial<KeyknoxClientError>);
    expect(await kk.v1Push('bWV0YTM=', 'dmFsdWUz', reset.keyknoxHash)).toMatchObject({ version: '4.0' });
  });

  it('answers "1.0" for the reset of an empty entry, and the first push after it is "1.0" too', async () => {
    const kk = client(fresh());
    expect(await kk.v1Reset()).toMatchObject({ meta: '', value: '', version: '1.0', keyknoxHash: undefined });
    expect(await kk.v1Push('bWV0YQ==', 'dmFsdWU=')).toMatchObject({ version: '1.0' });
  });

  it('keeps versions per identity and across a restart', async () => {
    const [aName, bName] = [fresh(), fresh()];
    const [a, b] = [client(aName), client(bName)];
    const pushed = await a.v1Push('bWV0YQ==', 'dmFsdWU=');
    await a.v1Push('bWV0YQ==', 'dmFsdWU=', pushed.keyknoxHash);
    expect(await b.v1Pull()).toMatchObject({ version: '1.0' });

    await dir.close();
    dir = await startVirgilDirectory({ ...app, dataFile: join(root, 'directory.json') });
    expect(await client(aName).v1Pull()).toMatchObject({ version: '2.0' });
  });

  it("runs the SDK's CloudKeyStorage through store, delete all, store again (KTC-41)", async () => {
    const crypto = new VirgilCrypto();
    const keyPair = crypto.generateKeys();
    const manager = new KeyknoxManager(new KeyknoxCrypto(crypto), client(fresh()));
    const storage = new CloudKeyStorage(manager, keyPair.privateKey, keyPair.publicKey);
    await manager.v1Push('c2VjcmV0', keyPair.privateKey, keyPair.publicKey);
    await storage.deleteAllEntries();
    await storage.retrieveCloudEntries();
    expect(storage.retrieveAllEntries()).toHaveLength(0);
    await storage.storeEntry('key-1', 'ZGF0YQ==');
    await storage.retrieveCloudEntries();
    expect(storage.retrieveAllEntries().map((e) => e.name)).toEqual(['key-1']);
  });
});
