import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedKeyStore } from './key-store.js';

// Cheap scrypt for the tests; the default cost is exercised once below.
const FAST = { N: 2 ** 10, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';

describe('EncryptedKeyStore', () => {
  let dir: string;
  let n = 0;
  const freshPath = () => join(dir, `store-${++n}`, 'keystore.json');
  /** A private key as e3kit stores it: base64 of the exported key bytes. */
  const keyBytes = randomBytes(48);
  const keyValue = keyBytes.toString('base64');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-keystore-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps no key material in clear on disk, and reads it back with the password', async () => {
    const path = freshPath();
    const store = await EncryptedKeyStore.unlock(path, PASSWORD, FAST);
    await store.save({ name: 'alice', value: keyValue, meta: { note: 'm' } });

    const disk = await readFile(path);
    const text = disk.toString('utf8');
    expect(text).not.toContain(keyValue);
    expect(text).not.toContain(keyBytes.toString('hex'));
    expect(text).not.toContain(keyBytes.toString('base64url'));
    expect(disk.includes(keyBytes)).toBe(false);
    // No 12-byte window of the key in any encoding a reader might try.
    expect(text).not.toContain(keyValue.slice(8, 24));
    expect(text).not.toContain(PASSWORD);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const reopened = await EncryptedKeyStore.unlock(path, PASSWORD);
    const entry = await reopened.load('alice');
    expect(entry?.value).toBe(keyValue);
    expect(entry?.meta).toEqual({ note: 'm' });
    expect(await reopened.exists('alice')).toBe(true);
    expect(await reopened.load('bob')).toBeNull();
  });

  it('fails cleanly with a wrong password, before reading any entry', async () => {
    const path = freshPath();
    const store = await EncryptedKeyStore.unlock(path, PASSWORD, FAST);
    await store.save({ name: 'alice', value: keyValue });
    const err = await EncryptedKeyStore.unlock(path, 'wrong password!').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    expect(String((err as Error).message)).not.toContain(PASSWORD);
    // The store is untouched.
    expect((await (await EncryptedKeyStore.unlock(path, PASSWORD)).load('alice'))?.value).toBe(keyValue);
  });

  it('detects a tampered or swapped entry', async () => {
    const path = freshPath();
    const store = await EncryptedKeyStore.unlock(path, PASSWORD, FAST);
    await store.save({ name: 'alice', value: keyValue });
    await store.save({ name: 'bob', value: randomBytes(48).toString('base64') });
    const file = JSON.parse(await readFile(path, 'utf8')) as {
      entries: Record<string, { iv: string; ct: string; tag: string }>;
    };

    const swapped = structuredClone(file);
    swapped.entries.alice = file.entries.bob!;
    await writeFile(path, JSON.stringify(swapped));
    await expect((await EncryptedKeyStore.unlock(path, PASSWORD)).load('alice')).rejects.toMatchObject({
      code: 'INTEGRITY',
    });

    const flipped = structuredClone(file);
    const ct = Buffer.from(file.entries.alice!.ct, 'base64');
    ct[0] = ct[0]! ^ 1;
    flipped.entries.alice!.ct = ct.toString('base64');
    await writeFile(path, JSON.stringify(flipped));
    await expect((await EncryptedKeyStore.unlock(path, PASSWORD)).load('alice')).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
  });

  it('rekeys to a new password atomically: the old one stops working', async () => {
    const path = freshPath();
    const store = await EncryptedKeyStore.unlock(path, PASSWORD, FAST);
    await store.save({ name: 'alice', value: keyValue });
    const before = await readFile(path, 'utf8');
    await store.rekey('a new password', FAST);
    expect(await readFile(path, 'utf8')).not.toBe(before);
    expect((await store.load('alice'))?.value).toBe(keyValue);
    await expect(EncryptedKeyStore.unlock(path, PASSWORD)).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
    expect((await (await EncryptedKeyStore.unlock(path, 'a new password')).load('alice'))?.value).toBe(keyValue);
  });

  it('behaves as virgil-sdk KeyEntryStorage: save twice fails, update, list, remove, clear', async () => {
    const store = await EncryptedKeyStore.unlock(freshPath(), PASSWORD, FAST);
    const saved = await store.save({ name: 'alice', value: 'v1' });
    expect(saved.creationDate).toBeInstanceOf(Date);
    await expect(store.save({ name: 'alice', value: 'v2' })).rejects.toMatchObject({
      name: 'KeyEntryAlreadyExistsError',
    });
    const updated = await store.update({ name: 'alice', value: 'v2' });
    expect(updated.value).toBe('v2');
    expect(updated.creationDate.getTime()).toBe(saved.creationDate.getTime());
    await store.save({ name: 'bob', value: 'b' });
    expect((await store.list()).map((e) => e.name).sort()).toEqual(['alice', 'bob']);
    expect(await store.remove('bob')).toBe(true);
    expect(await store.remove('bob')).toBe(false);
    await store.clear();
    expect(await store.list()).toEqual([]);
    store.lock();
    await expect(store.load('alice')).rejects.toMatchObject({ code: 'CONFIG' });
  });

  it('rejects a corrupt file with CONFIG, and uses a strong scrypt cost by default', async () => {
    const path = freshPath();
    await EncryptedKeyStore.unlock(path, PASSWORD);
    const file = JSON.parse(await readFile(path, 'utf8')) as { kdf: { N: number; r: number; salt: string } };
    expect(file.kdf.N).toBeGreaterThanOrEqual(2 ** 15);
    expect(Buffer.from(file.kdf.salt, 'base64')).toHaveLength(16);
    await writeFile(path, '{"v":1,"kdf":{}}');
    await expect(EncryptedKeyStore.unlock(path, PASSWORD)).rejects.toMatchObject({ code: 'CONFIG' });
    await writeFile(path, 'not json');
    await expect(EncryptedKeyStore.unlock(path, PASSWORD)).rejects.toMatchObject({ code: 'CONFIG' });
  });

  it('gives two stores of the same password different salts and keys', async () => {
    const a = freshPath();
    const b = freshPath();
    await (await EncryptedKeyStore.unlock(a, PASSWORD, FAST)).save({ name: 'x', value: keyValue });
    await (await EncryptedKeyStore.unlock(b, PASSWORD, FAST)).save({ name: 'x', value: keyValue });
    const fa = JSON.parse(await readFile(a, 'utf8')) as { kdf: { salt: string }; entries: { x: { ct: string } } };
    const fb = JSON.parse(await readFile(b, 'utf8')) as { kdf: { salt: string }; entries: { x: { ct: string } } };
    expect(fa.kdf.salt).not.toBe(fb.kdf.salt);
    expect(fa.entries.x.ct).not.toBe(fb.entries.x.ct);
  });
});
