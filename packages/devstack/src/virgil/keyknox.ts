import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { VirgilServiceError } from './errors.js';
import type { KeyknoxV2KeysBody, KeyknoxV2PullBody, KeyknoxV2PushBody, KeyknoxV2ResetBody } from './schemas.js';
import { v2EntryKey, type DirectoryState, type KeyknoxV2Entry } from './state.js';

/** A response body plus the `Virgil-Keyknox-Hash` to send with it, if the entry exists. */
export interface KeyknoxReply<T> {
  body: T;
  hash?: string;
}

export interface V1Value {
  meta: string;
  value: string;
  version: string;
}

export interface V2Value {
  owner: string;
  root: string;
  path: string;
  key: string;
  identities: string[];
  meta: string;
  value: string;
}

/** Keyknox v1 versions are "<major>.0". */
const v1Version = (major: number): string => `${major}.0`;
// A group holds at most 100 participants (e3kit), so no entry needs more readers.
const MAX_READERS = 100;

const newHash = (): string => randomBytes(32).toString('hex');

/**
 * The optimistic-concurrency rule shared by v1 and v2: writing onto an existing entry needs its
 * current hash, and a hash for an entry that no longer exists is stale too (it was reset since).
 */
function checkPreviousHash(current: string | undefined, previous: string | undefined): void {
  if (current !== previous) throw new VirgilServiceError('STALE_HASH');
}

/**
 * Keyknox. v1 is one blob per identity (password-protected key backup). v2 entries belong to
 * their owner (the pushing identity) and hold one value per reader, because e3kit adds group
 * members by pushing a value encrypted only for the owner and the newcomers; a pull answers the
 * caller's own value and the union of readers, which e3kit turns into `group.participants`.
 * Removing a reader keeps the hash: e3kit's reAdd pulls, resets the reader, then pushes with the
 * hash it pulled.
 */
export class KeyknoxService {
  constructor(private readonly state: DirectoryState) {}

  v1Pull(identity: string): KeyknoxReply<V1Value> {
    const entry = this.state.keyknoxV1.get(identity);
    if (!entry) return { body: { meta: '', value: '', version: v1Version(1) } };
    return { body: { meta: entry.meta, value: entry.value, version: v1Version(entry.version) }, hash: entry.hash };
  }

  /** The first push answers "1.0"; each push onto the entry (value or reset remains) raises the major version. */
  v1Push(
    identity: string,
    blob: { meta: string; value: string },
    previousHash: string | undefined,
  ): KeyknoxReply<V1Value> {
    const existing = this.state.keyknoxV1.get(identity);
    checkPreviousHash(existing?.hash, previousHash);
    return this.v1Write(identity, blob, existing ? existing.version + 1 : 1);
  }

  /**
   * Empties the value and raises the version, as the cloud does; the emptied entry keeps a fresh
   * hash, answered here, which the next push must send. Resetting nothing changes nothing ("1.0").
   */
  v1Reset(identity: string): KeyknoxReply<V1Value> {
    const entry = this.state.keyknoxV1.get(identity);
    if (!entry) return { body: { meta: '', value: '', version: v1Version(1) } };
    if (!entry.meta && !entry.value) return this.v1Pull(identity);
    return this.v1Write(identity, { meta: '', value: '' }, entry.version + 1);
  }

  private v1Write(identity: string, blob: { meta: string; value: string }, version: number): KeyknoxReply<V1Value> {
    const hash = newHash();
    this.state.keyknoxV1.set(identity, { identity, meta: blob.meta, value: blob.value, hash, version });
    return { body: { meta: blob.meta, value: blob.value, version: v1Version(version) }, hash };
  }

  v2Push(
    owner: string,
    req: z.infer<typeof KeyknoxV2PushBody>,
    previousHash: string | undefined,
  ): KeyknoxReply<V2Value> {
    const id = v2EntryKey(owner, req.root, req.path, req.key);
    const existing = this.state.keyknoxV2.get(id);
    checkPreviousHash(existing?.hash, previousHash);
    const readers = new Map(existing?.readers);
    for (const reader of req.identities) readers.set(reader, { meta: req.meta, value: req.value });
    if (readers.size > MAX_READERS) throw new VirgilServiceError('VALIDATION_FAILED');
    const entry: KeyknoxV2Entry = { owner, root: req.root, path: req.path, key: req.key, hash: newHash(), readers };
    this.state.keyknoxV2.set(id, entry);
    return { body: valueOf(entry, { meta: req.meta, value: req.value }), hash: entry.hash };
  }

  /** A missing entry, or one the caller cannot read, answers 200 with empty values (as the cloud does). */
  v2Pull(caller: string, req: z.infer<typeof KeyknoxV2PullBody>): KeyknoxReply<V2Value> {
    const entry = this.state.keyknoxV2.get(v2EntryKey(req.identity, req.root, req.path, req.key));
    const mine = entry?.readers.get(caller);
    if (!entry || !mine) {
      return {
        body: {
          owner: req.identity,
          root: req.root,
          path: req.path,
          key: req.key,
          identities: [],
          meta: '',
          value: '',
        },
      };
    }
    return { body: valueOf(entry, mine), hash: entry.hash };
  }

  /** Keys under owner/root/path that the caller can read, epochs in numeric order. */
  v2Keys(caller: string, req: z.infer<typeof KeyknoxV2KeysBody>): string[] {
    return this.entriesAt(req.identity, req.root, req.path)
      .filter((entry) => entry.readers.has(caller))
      .map((entry) => entry.key)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }

  /** Owner only: drops one reader (hash kept) or whole entries, for one key or the whole path. */
  v2Reset(owner: string, req: z.infer<typeof KeyknoxV2ResetBody>): KeyknoxReply<V2Value> {
    const entries = this.entriesAt(owner, req.root, req.path).filter((e) => req.key === undefined || e.key === req.key);
    for (const entry of entries) {
      if (req.identity === undefined) this.state.keyknoxV2.delete(v2EntryKey(owner, entry.root, entry.path, entry.key));
      else entry.readers.delete(req.identity);
    }
    const remaining = req.identity === undefined ? [] : [...new Set(entries.flatMap((e) => [...e.readers.keys()]))];
    return {
      body: { owner, root: req.root, path: req.path, key: req.key ?? '', identities: remaining, meta: '', value: '' },
    };
  }

  private entriesAt(owner: string, root: string, path: string): KeyknoxV2Entry[] {
    return [...this.state.keyknoxV2.values()].filter((e) => e.owner === owner && e.root === root && e.path === path);
  }
}

const valueOf = (entry: KeyknoxV2Entry, blob: { meta: string; value: string }): V2Value => ({
  owner: entry.owner,
  root: entry.root,
  path: entry.path,
  key: entry.key,
  identities: [...entry.readers.keys()],
  meta: blob.meta,
  value: blob.value,
});
