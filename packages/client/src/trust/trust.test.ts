import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirgilCrypto } from 'virgil-crypto';
import { EncryptedKeyStore } from '../platform/node/key-store.js';
import { initVirgilWasm } from '@conduit/shared/virgil-wasm';
import { followChain, signKeyTransition, type CardKey } from './key-transition.js';
import { nodeSealingCipher } from '../platform/node/sealing-cipher.js';
import { nodeStateFiles } from '../platform/node/state-files.js';
import { PIN_KEY_ENTRY, PinStore } from './pin-store.js';
import { fingerprintDigits, groupDigits, safetyNumber } from './safety-number.js';

const FAST = { N: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';
const noLog = () => undefined;
const pinIo = { files: nodeStateFiles, cipher: nodeSealingCipher };

describe('safety numbers', () => {
  // Expected values computed independently (Python hashlib) from the definition in safety-number.ts.
  const alice = { identity: 'alice', publicKey: Buffer.from(Array.from({ length: 44 }, (_, i) => i)) };
  const bob = { identity: 'bob', publicKey: Buffer.from(Array.from({ length: 44 }, (_, i) => 100 + i)) };

  it('matches the known answer', () => {
    expect(fingerprintDigits(alice)).toBe('041250204009704588014339089826');
    expect(fingerprintDigits(bob)).toBe('225353668624701952667482732109');
    expect(safetyNumber(alice, bob)).toBe('041250204009704588014339089826225353668624701952667482732109');
  });

  it('is the same from both ends, and changes with either key or identity', () => {
    expect(safetyNumber(bob, alice)).toBe(safetyNumber(alice, bob));
    const other = { ...bob, publicKey: Buffer.from(bob.publicKey).fill(7, 0, 1) };
    expect(safetyNumber(alice, other)).not.toBe(safetyNumber(alice, bob));
    expect(safetyNumber(alice, { ...bob, identity: 'bob2' })).not.toBe(safetyNumber(alice, bob));
    expect(groupDigits(safetyNumber(alice, bob))).toMatch(/^(\d{5} ){11}\d{5}$/);
  });
});

describe('PinStore', () => {
  let dir: string;
  let n = 0;
  const fresh = () => {
    const d = join(dir, `home-${++n}`);
    return { keys: join(d, 'e3kit', 'keystore.json'), pins: join(d, 'pins.json') };
  };
  const bobKey = Buffer.from('bob public key bytes, 32 long!!!');
  const bobCard = { cardId: 'c0ffee'.repeat(10) + 'abcd', publicKey: bobKey };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-pins-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is sealed at rest (0600, nothing in clear) and reopens with the password only', async () => {
    const paths = fresh();
    const store = await EncryptedKeyStore.unlock(paths.keys, PASSWORD, FAST);
    const pins = await PinStore.open(paths.pins, 'alice', store, noLog, pinIo);
    await pins.pin('bobby', bobCard, 'first-use');
    await pins.pinGroupOwner('ab'.repeat(16), 'carolyn');

    const disk = await readFile(paths.pins, 'utf8');
    for (const clear of [bobKey.toString('base64'), bobKey.toString('hex'), bobCard.cardId, 'bobby', 'carolyn']) {
      expect(disk).not.toContain(clear);
    }
    expect((await stat(paths.pins)).mode & 0o777).toBe(0o600);

    store.lock();
    await expect(EncryptedKeyStore.unlock(paths.keys, 'not the password', FAST)).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    const again = await PinStore.open(
      paths.pins,
      'alice',
      await EncryptedKeyStore.unlock(paths.keys, PASSWORD, FAST),
      noLog,
      pinIo,
    );
    expect(again.get('bobby')).toMatchObject({ cardId: bobCard.cardId, publicKey: bobKey.toString('base64') });
    expect(again.groupOwner('ab'.repeat(16))).toBe('carolyn');
  });

  it('keeps replaced cards in the history and refuses a tampered file', async () => {
    const paths = fresh();
    const store = await EncryptedKeyStore.unlock(paths.keys, PASSWORD, FAST);
    const pins = await PinStore.open(paths.pins, 'alice', store, noLog, pinIo);
    await pins.pin('bob', bobCard, 'first-use');
    const next = await pins.pin('bob', { cardId: 'e'.repeat(64), publicKey: Buffer.from('new key') }, 'trust');
    expect(next.history).toEqual([expect.objectContaining({ cardId: bobCard.cardId, how: 'trust' })]);

    const raw = JSON.parse(await readFile(paths.pins, 'utf8')) as { sealed: { ct: string } };
    const ct = Buffer.from(raw.sealed.ct, 'base64');
    ct[0] = (ct[0] ?? 0) ^ 1;
    raw.sealed.ct = ct.toString('base64');
    await writeFile(paths.pins, JSON.stringify(raw));
    await expect(PinStore.open(paths.pins, 'alice', store, noLog, pinIo)).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
    // Bound to its owner: the same file does not open as another identity's pins.
    await expect(PinStore.open(paths.pins, 'mallory', store, noLog, pinIo)).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
  });

  it('merges pins written meanwhile by another process of the identity', async () => {
    const paths = fresh();
    const store = await EncryptedKeyStore.unlock(paths.keys, PASSWORD, FAST);
    const app = await PinStore.open(paths.pins, 'alice', store, noLog, pinIo);
    const cli = await PinStore.open(paths.pins, 'alice', store, noLog, pinIo); // opened before app writes
    await app.pin('bob', bobCard, 'first-use');
    await cli.pin('carol', { cardId: 'd'.repeat(64), publicKey: Buffer.from('carol key') }, 'first-use');
    const reopened = await PinStore.open(paths.pins, 'alice', store, noLog, pinIo);
    expect(reopened.get('bob')?.cardId).toBe(bobCard.cardId);
    expect(reopened.get('carol')?.cardId).toBe('d'.repeat(64));
  });

  it('starts over (file set aside) when the key store lost the pin key', async () => {
    const paths = fresh();
    const store = await EncryptedKeyStore.unlock(paths.keys, PASSWORD, FAST);
    await (await PinStore.open(paths.pins, 'alice', store, noLog, pinIo)).pin('bob', bobCard, 'first-use');
    await store.remove(PIN_KEY_ENTRY);
    const reopened = await PinStore.open(paths.pins, 'alice', store, noLog, pinIo);
    expect(reopened.get('bob')).toBeUndefined();
  });
});

describe('key-transition chains', () => {
  let crypto: VirgilCrypto;
  beforeAll(async () => {
    await initVirgilWasm();
    crypto = new VirgilCrypto();
  });

  const card = (id: string) => {
    const keys = crypto.generateKeys();
    return { key: { cardId: id.repeat(64), publicKey: crypto.exportPublicKey(keys.publicKey) } as CardKey, keys };
  };
  const sign = (
    by: ReturnType<typeof card>,
    from: ReturnType<typeof card>,
    to: ReturnType<typeof card>,
    identity = 'bob',
  ) =>
    signKeyTransition(crypto, by.keys.privateKey, {
      identity,
      oldCardId: from.key.cardId,
      next: to.key,
      at: new Date(),
    });

  it('follows statements signed by each previous key, in any order', () => {
    const [a, b, c] = [card('a'), card('b'), card('c')];
    const chain = [sign(b, b, c), sign(a, a, b)];
    expect(followChain(crypto, 'bob', a.key, c.key, chain)?.map((k) => k.cardId)).toEqual([b.key.cardId, c.key.cardId]);
  });

  it('refuses a statement signed by any other key, about another identity, or naming another key', () => {
    const [a, b, mallory] = [card('a'), card('b'), card('f')];
    expect(followChain(crypto, 'bob', a.key, b.key, [sign(mallory, a, b)])).toBeUndefined();
    expect(followChain(crypto, 'bob', a.key, b.key, [sign(b, a, b)])).toBeUndefined();
    expect(followChain(crypto, 'bob', a.key, b.key, [sign(a, a, b, 'carol')])).toBeUndefined();
    // Statement names b's card id, but the directory's card with that id carries another key.
    const swapped = { cardId: b.key.cardId, publicKey: mallory.key.publicKey };
    expect(followChain(crypto, 'bob', a.key, swapped, [sign(a, a, b)])).toBeUndefined();
    // A tampered statement no longer verifies.
    const t = sign(a, a, b);
    const forged = { ...t, statement: t.statement.replace(b.key.cardId, mallory.key.cardId) };
    expect(followChain(crypto, 'bob', a.key, { ...mallory.key, cardId: mallory.key.cardId }, [forged])).toBeUndefined();
    expect(followChain(crypto, 'bob', a.key, b.key, [t])).toEqual([b.key]);
  });
});
