import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EThree, KeyPairType } from '@virgilsecurity/e3kit-node';
import { VirgilCardCrypto, VirgilCrypto, type VirgilPublicKey } from 'virgil-crypto';
import { VirgilCardVerifier, type ICardVerifier } from 'virgil-sdk';
import {
  createVirgilApp,
  startVirgilDirectory,
  type VirgilAppCredentials,
  type VirgilDirectory,
} from '@conduit/devstack';
import { VirgilTokenIssuer } from '@conduit/server';
import { closeEThree } from '@conduit/client';
import { initPythiaWasm, initVirgilWasm } from '@conduit/shared/virgil-wasm';

// Contract: the unmodified e3kit-node 2.5.1 with its post-quantum key type
// (CURVE25519_ROUND5_ED25519_FALCON: a 2 KB public key, 1.2 KB signatures) publishes, finds and
// uses cards on the local directory, as e3kit's own suite does on the cloud ("authEncrypt ->
// authDecrypt works"). Card checks are restored as openEThree restores them.
describe('local Virgil directory with post-quantum cards', () => {
  let root: string;
  let app: VirgilAppCredentials;
  let dir: VirgilDirectory;
  const opened: EThree[] = [];

  const mint = (identity: string) =>
    new VirgilTokenIssuer({ ...app, ttlSeconds: 3600 }).issue(identity).then((t) => t.value);

  async function open(identity: string): Promise<EThree> {
    const storage = await mkdtemp(join(root, `${identity}-`));
    const eThree = await EThree.initialize(() => mint(identity), {
      apiUrl: dir.url,
      storageName: join(storage, 'keys'),
      groupStorageName: join(storage, 'groups'),
      keyPairType: KeyPairType.CURVE25519_ROUND5_ED25519_FALCON,
    });
    opened.push(eThree);
    const verifier = new VirgilCardVerifier(new VirgilCardCrypto(new VirgilCrypto()), {
      verifySelfSignature: true,
      verifyVirgilSignature: false,
      whitelists: [[{ signer: 'virgil', publicKeyBase64: dir.servicePublicKey }]],
    });
    (eThree.cardManager as { cardVerifier: ICardVerifier }).cardVerifier = verifier;
    return eThree;
  }

  beforeAll(async () => {
    // e3kit's own initialize loads the WASM by path, which fails on Node 20: load it from bytes first.
    await Promise.all([initVirgilWasm(), initPythiaWasm()]);
    root = await mkdtemp(join(tmpdir(), 'conduit-virgil-pq-'));
    app = await createVirgilApp();
    dir = await startVirgilDirectory(app);
  });

  afterAll(async () => {
    for (const eThree of opened) await closeEThree(eThree);
    await dir?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('publishes, finds and uses post-quantum cards: authEncrypt, authDecrypt, group tickets', async () => {
    const [alice, bob] = await Promise.all([open('pq-alice'), open('pq-bob')]);
    await alice.register();
    await bob.register();

    const bobCard = await alice.findUsers('pq-bob');
    const publicKey = new VirgilCrypto().exportPublicKey(bobCard.publicKey as VirgilPublicKey).toString('base64');
    expect(publicKey.length).toBeGreaterThan(2000); // the size the directory used to refuse (> 1,024)
    expect(bobCard.signatures.map((s) => s.signer).sort()).toEqual(['self', 'virgil']);

    const aliceCard = await bob.findUsers('pq-alice');
    const sealed = (await alice.authEncrypt('post-quantum hello', bobCard)) as string;
    expect(await bob.authDecrypt(sealed, aliceCard)).toBe('post-quantum hello');

    // Group tickets travel through Keyknox encrypted for PQ keys. (group.encrypt itself is refused
    // by virgil-crypto for compound keys, "Wrong key type": a client limit, not the directory's.)
    await alice.createGroup('pq-group-0001', bobCard);
    const bobGroup = await bob.loadGroup('pq-group-0001', aliceCard);
    expect([...bobGroup.participants].sort()).toEqual(['pq-alice', 'pq-bob']);
  });

  it('still bounds a card: a public key over 8,192 base64 characters is refused', async () => {
    const identity = 'pq-oversized';
    const content = { identity, public_key: 'A'.repeat(8196), version: '5.0', created_at: 1 };
    const res = await fetch(`${dir.url}/card/v5`, {
      method: 'POST',
      headers: { authorization: `Virgil ${await mint(identity)}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        content_snapshot: Buffer.from(JSON.stringify(content)).toString('base64'),
        signatures: [{ signer: 'self', signature: 'AAAA' }],
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 40010 });
  });
});
