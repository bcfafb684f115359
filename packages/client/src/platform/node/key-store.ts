import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConduitError } from '@conduit/shared';
import type { IKeyEntry, IKeyEntryStorage, ISaveKeyEntryParams, IUpdateKeyEntryParams } from 'virgil-sdk';
import { writeFileAtomic } from './state-files.js';
import { isSealed, KEY_BYTES, type Sealed } from '../../crypto/sealed-file.js';
import { openSealed, seal } from './sealing-cipher.js';

/**
 * E3Kit's private key store, encrypted at rest (e3kit-node's default writes the key as plain base64).
 *
 * One JSON file (0600): a scrypt salt and cost, a check value, and each entry sealed with
 * AES-256-GCM under a key-encryption key (KEK) derived from the user's password with scrypt. The
 * KEK lives only in this object's memory: the file alone, or a copy of the disk, reveals nothing
 * without the password. Each entry's name is bound as additional data, so sealed entries cannot be
 * swapped between names. Every write replaces the whole file atomically (temp file, fsync, rename).
 */
const VERSION = 1;
const SALT_BYTES = 16;
/** scrypt N=2^15, r=8: ~32 MiB and ~100 ms per unlock; slows guessing from a stolen disk. */
export const DEFAULT_SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const;
const CHECK_PLAINTEXT = Buffer.from('conduit key store v1');
const CHECK_AAD = 'check';

interface KdfParams {
  N: number;
  r: number;
  p: number;
  salt: string;
}

interface StoreFile {
  v: typeof VERSION;
  kdf: KdfParams;
  check: Sealed;
  entries: Record<string, Sealed>;
}

/** What a sealed entry holds (dates as ISO strings). */
interface EntryPlain {
  value: string;
  meta?: Record<string, string>;
  creationDate: string;
  modificationDate: string;
}

export class EncryptedKeyStore implements IKeyEntryStorage {
  private kek: Buffer | undefined;

  private constructor(
    readonly path: string,
    kek: Buffer,
    private file: StoreFile,
  ) {
    this.kek = kek;
  }

  /**
   * Opens the store at `path` with the password, creating it (with a fresh salt) on first use.
   * A wrong password fails with INVALID_CREDENTIALS before any entry is read.
   */
  static async unlock(
    path: string,
    password: string,
    cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT,
  ): Promise<EncryptedKeyStore> {
    const existing = await readStoreFile(path);
    if (existing) {
      const kek = await deriveKek(password, existing.kdf);
      try {
        const check = openSealed(kek, existing.check, CHECK_AAD);
        if (check.length !== CHECK_PLAINTEXT.length || !timingSafeEqual(check, CHECK_PLAINTEXT)) throw new Error();
      } catch {
        kek.fill(0);
        throw new ConduitError('INVALID_CREDENTIALS', "The password does not unlock this device's key store.");
      }
      return new EncryptedKeyStore(path, kek, existing);
    }
    const { file, kek } = await freshFile(password, cost, {});
    await writeStoreFile(path, file);
    return new EncryptedKeyStore(path, kek, file);
  }

  /** Whether a key store exists at `path` (it may hold no entry). */
  static async exists(path: string): Promise<boolean> {
    return (await readStoreFile(path)) !== undefined;
  }

  /** Re-encrypts every entry under a KEK derived from `newPassword` with a new salt, in one atomic write. */
  async rekey(newPassword: string, cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT): Promise<void> {
    const kek = this.requireKek();
    const plain = Object.entries(this.file.entries).map(([name, s]) => [name, openSealed(kek, s, name)] as const);
    const { file, kek: newKek } = await freshFile(newPassword, cost, {});
    for (const [name, data] of plain) {
      file.entries[name] = seal(newKek, data, name);
      data.fill(0);
    }
    await writeStoreFile(this.path, file);
    this.lock();
    this.kek = newKek;
    this.file = file;
  }

  async reload(): Promise<void> {
    this.requireKek();
    const fresh = await readStoreFile(this.path);
    if (!fresh || fresh.kdf.salt !== this.file.kdf.salt) {
      throw new ConduitError(
        'CONFIG',
        "This device's key store was replaced or re-sealed (a password change?): unlock it again.",
      );
    }
    this.file = fresh;
  }

  /** Forgets the KEK; the store cannot be used afterwards. */
  lock(): void {
    this.kek?.fill(0);
    this.kek = undefined;
  }

  async save({ name, value, meta }: ISaveKeyEntryParams): Promise<IKeyEntry> {
    if (Object.hasOwn(this.file.entries, name)) {
      // virgil-sdk's KeyEntryStorage fails the same way (matched by name upstream).
      throw Object.assign(new Error('Key entry already exists.'), { name: 'KeyEntryAlreadyExistsError' });
    }
    const now = new Date().toISOString();
    return this.put(name, { value, meta, creationDate: now, modificationDate: now });
  }

  async load(name: string): Promise<IKeyEntry | null> {
    this.requireKek();
    const sealed = this.entry(name);
    return sealed ? toKeyEntry(name, this.decode(name, sealed)) : null;
  }

  async exists(name: string): Promise<boolean> {
    this.requireKek();
    return this.entry(name) !== undefined;
  }

  async remove(name: string): Promise<boolean> {
    this.requireKek();
    if (!Object.hasOwn(this.file.entries, name)) return false;
    const entries = { ...this.file.entries };
    delete entries[name];
    await this.write({ ...this.file, entries });
    return true;
  }

  async list(): Promise<IKeyEntry[]> {
    this.requireKek();
    return Object.entries(this.file.entries).map(([name, s]) => toKeyEntry(name, this.decode(name, s)));
  }

  async update({ name, value, meta }: IUpdateKeyEntryParams): Promise<IKeyEntry> {
    const sealed = this.entry(name);
    if (!sealed) throw Object.assign(new Error('Key entry not found.'), { name: 'KeyEntryDoesNotExistError' });
    const old = this.decode(name, sealed);
    return this.put(name, {
      value: value ?? old.value,
      meta: meta ?? old.meta,
      creationDate: old.creationDate,
      modificationDate: new Date().toISOString(),
    });
  }

  async clear(): Promise<void> {
    this.requireKek();
    await this.write({ ...this.file, entries: {} });
  }

  private async put(name: string, plain: EntryPlain): Promise<IKeyEntry> {
    const data = Buffer.from(JSON.stringify(plain), 'utf8');
    try {
      const sealed = seal(this.requireKek(), data, name);
      await this.write({ ...this.file, entries: { ...this.file.entries, [name]: sealed } });
    } finally {
      data.fill(0);
    }
    return toKeyEntry(name, plain);
  }

  private async write(file: StoreFile): Promise<void> {
    await writeStoreFile(this.path, file);
    this.file = file;
  }

  private entry(name: string): Sealed | undefined {
    return Object.hasOwn(this.file.entries, name) ? this.file.entries[name] : undefined;
  }

  private decode(name: string, sealed: Sealed): EntryPlain {
    let data: Buffer;
    try {
      data = openSealed(this.requireKek(), sealed, name);
    } catch (err) {
      if (err instanceof ConduitError) throw err;
      throw new ConduitError('INTEGRITY', "An entry of this device's key store failed verification.");
    }
    try {
      return JSON.parse(data.toString('utf8')) as EntryPlain;
    } finally {
      data.fill(0);
    }
  }

  private requireKek(): Buffer {
    if (!this.kek) throw new ConduitError('CONFIG', "This device's key store is locked.");
    return this.kek;
  }
}

async function freshFile(
  password: string,
  cost: { N: number; r: number; p: number },
  entries: Record<string, Sealed>,
): Promise<{ file: StoreFile; kek: Buffer }> {
  const kdf: KdfParams = { ...cost, salt: randomBytes(SALT_BYTES).toString('base64') };
  const kek = await deriveKek(password, kdf);
  return { file: { v: VERSION, kdf, check: seal(kek, CHECK_PLAINTEXT, CHECK_AAD), entries }, kek };
}

function deriveKek(password: string, kdf: KdfParams): Promise<Buffer> {
  const { N, r, p } = kdf;
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      Buffer.from(kdf.salt, 'base64'),
      KEY_BYTES,
      // maxmem above scrypt's 128*N*r working set (node's default of 32 MiB is exactly that for N=2^15).
      { N, r, p, maxmem: 256 * N * r },
      (err, key) => (err ? reject(new ConduitError('CONFIG', 'The key store parameters are invalid.')) : resolve(key)),
    ),
  );
}

function toKeyEntry(name: string, p: EntryPlain): IKeyEntry {
  return {
    name,
    value: p.value,
    meta: p.meta,
    creationDate: new Date(p.creationDate),
    modificationDate: new Date(p.modificationDate),
  };
}

async function readStoreFile(path: string): Promise<StoreFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const corrupt = () => new ConduitError('CONFIG', `The key store is corrupt: ${path}`);
  let raw: Partial<StoreFile>;
  try {
    raw = JSON.parse(text) as Partial<StoreFile>;
  } catch {
    throw corrupt();
  }
  const kdf = raw.kdf;
  const okKdf =
    kdf !== undefined &&
    [kdf.N, kdf.r, kdf.p].every((n) => Number.isSafeInteger(n) && n > 0) &&
    kdf.N <= 2 ** 20 &&
    kdf.r <= 32 &&
    kdf.p <= 16 &&
    typeof kdf.salt === 'string';
  const entries = raw.entries;
  const okEntries = typeof entries === 'object' && entries !== null && Object.values(entries).every(isSealed);
  if (raw.v !== VERSION || !okKdf || !isSealed(raw.check) || !okEntries) throw corrupt();
  return raw as StoreFile;
}

async function writeStoreFile(path: string, file: StoreFile): Promise<void> {
  // Durable (fsync): the private key must survive a crash right after it was written.
  await writeFileAtomic(path, JSON.stringify(file));
}
