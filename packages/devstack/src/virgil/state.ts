import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import {
  PersistedState,
  type CardRecord,
  type KeyknoxBlob,
  type KeyknoxV1Entry,
  type PersistedV2Entry,
} from './schemas.js';

export interface KeyknoxV2Entry {
  owner: string;
  root: string;
  path: string;
  key: string;
  hash: string;
  /** One value per reader: adding readers later pushes values encrypted only for the newcomers. */
  readers: Map<string, KeyknoxBlob>;
}

/** Everything the directory knows. Maps keep identities like `__proto__` from touching prototypes. */
export interface DirectoryState {
  /** base64 of the exported private key the directory countersigns cards with. */
  signingKey: string;
  /** base64 of the Pythia transformation private key. */
  pythiaKey: string;
  cards: Map<string, CardRecord>;
  keyknoxV1: Map<string, KeyknoxV1Entry>;
  keyknoxV2: Map<string, KeyknoxV2Entry>;
}

export const v2EntryKey = (owner: string, root: string, path: string, key: string): string =>
  JSON.stringify([owner, root, path, key]);

export function emptyState(signingKey: string, pythiaKey: string): DirectoryState {
  return { signingKey, pythiaKey, cards: new Map(), keyknoxV1: new Map(), keyknoxV2: new Map() };
}

/** Reads a data file written by `StateFile`; null when there is none yet. */
export async function loadState(file: string): Promise<DirectoryState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const saved = PersistedState.parse(JSON.parse(text));
  const state = emptyState(saved.signingKey, saved.pythiaKey);
  for (const card of saved.cards) state.cards.set(card.id, card);
  for (const entry of saved.keyknoxV1) state.keyknoxV1.set(entry.identity, entry);
  for (const { readers, ...entry } of saved.keyknoxV2) {
    state.keyknoxV2.set(v2EntryKey(entry.owner, entry.root, entry.path, entry.key), {
      ...entry,
      readers: new Map(readers.map(({ identity, ...blob }) => [identity, blob])),
    });
  }
  return state;
}

function serialize(state: DirectoryState): PersistedState {
  const keyknoxV2: PersistedV2Entry[] = [...state.keyknoxV2.values()].map(({ readers, ...entry }) => ({
    ...entry,
    readers: [...readers].map(([identity, blob]) => ({ identity, ...blob })),
  }));
  return {
    version: 1,
    signingKey: state.signingKey,
    pythiaKey: state.pythiaKey,
    cards: [...state.cards.values()],
    keyknoxV1: [...state.keyknoxV1.values()],
    keyknoxV2,
  };
}

/**
 * Persists the state after each write: the whole state to a temp file, then rename, so a crash
 * never leaves a torn file. Saves are serialised; each writes the state as it is when it runs.
 * The file holds the directory's secret keys, hence mode 0600.
 */
export class StateFile {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  save(state: DirectoryState): Promise<void> {
    const run = this.queue.then(() => this.write(state));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every save issued so far has finished (or failed). */
  flush(): Promise<void> {
    return this.queue;
  }

  private async write(state: DirectoryState): Promise<void> {
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, JSON.stringify(serialize(state)), { mode: 0o600 });
      await rename(temp, this.file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}
