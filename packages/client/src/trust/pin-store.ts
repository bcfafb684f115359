import { ConduitError, GroupId, Identity } from '@conduit/shared';
import type { IKeyEntryStorage } from 'virgil-sdk';
import { z } from 'zod';
import { isSealed, KEY_BYTES } from '../crypto/sealed-file.js';
import type { SealingCipher } from '../platform/sealing-cipher.js';
import type { StateFiles } from '../platform/state-files.js';
import { randomBytes } from '../util/random.js';

/**
 * The cards this endpoint has pinned, per identity (trust on first use), and the owner of each
 * group it has loaded: one file (0600), sealed with AES-256-GCM under a random data key that lives
 * as an entry of the encrypted key store, so the file opens only with the user's password and a
 * password change (which re-seals the key store) carries it along. Per device: another device of
 * the same identity pins on its own (docs/identity.md).
 */
const VERSION = 1;
/** Key-store entry name of the data key; identities never start with '.', so it cannot collide. */
export const PIN_KEY_ENTRY = '.conduit-pins-key';
/** Replaced cards remembered per identity (the newest). */
const MAX_HISTORY = 16;

const CardRecord = z.strictObject({
  cardId: z.string().min(1).max(128),
  /** base64 of the exported public key. */
  publicKey: z.string().min(1).max(1024),
  pinnedAt: z.iso.datetime(),
});
const ReplacedCard = CardRecord.extend({ replacedAt: z.iso.datetime(), how: z.enum(['chain', 'trust']) });
const Pin = CardRecord.extend({ firstSeen: z.iso.datetime(), history: z.array(ReplacedCard).max(MAX_HISTORY) });
export type Pin = z.infer<typeof Pin>;
const Contents = z.strictObject({
  identities: z.record(Identity, Pin),
  groupOwners: z.record(GroupId, Identity),
});
type Contents = z.infer<typeof Contents>;

/** Where the pin store keeps its file, and how it seals it. */
export interface PinStoreIo {
  files: StateFiles;
  cipher: SealingCipher;
}

/** What the pin store needs of the key store: its data key lives there. */
export type KeyEntries = Pick<IKeyEntryStorage, 'load' | 'save'>;

export class PinStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly io: PinStoreIo,
    private readonly path: string,
    private readonly aad: string,
    private readonly key: Buffer,
    private contents: Contents,
  ) {}

  /**
   * Opens the pins of `owner` at `path`. When the key store has lost the data key (it was set
   * aside after a password change elsewhere) the unreadable file is set aside too and pinning
   * starts over, trust on first use again.
   */
  static async open(
    path: string,
    owner: Identity,
    entries: KeyEntries,
    log: (line: string) => void,
    io: PinStoreIo,
  ): Promise<PinStore> {
    const { files } = io;
    const aad = `conduit pins v${VERSION}:${owner}`;
    const text = await files.read(path);
    const entry = await entries.load(PIN_KEY_ENTRY);
    if (!entry) {
      if (text !== undefined) {
        const aside = `${path}.stale-${Date.now()}`;
        await files.rename(path, aside);
        log(`pins sealed under a lost key moved to ${aside}; peers are pinned again on first use`);
      }
      const key = randomBytes(KEY_BYTES);
      await entries.save({ name: PIN_KEY_ENTRY, value: key.toString('base64') });
      return new PinStore(io, path, aad, key, { identities: {}, groupOwners: {} });
    }
    const key = Buffer.from(entry.value, 'base64');
    if (key.length !== KEY_BYTES) throw new ConduitError('CONFIG', 'The pin store key is corrupt.');
    return new PinStore(
      io,
      path,
      aad,
      key,
      text === undefined ? { identities: {}, groupOwners: {} } : decode(io.cipher, text, key, aad),
    );
  }

  get(identity: Identity): Pin | undefined {
    return Object.hasOwn(this.contents.identities, identity) ? this.contents.identities[identity] : undefined;
  }

  /** Pins `card` for `identity`; a pin it replaces goes to the history, marked with `how`. */
  async pin(
    identity: Identity,
    card: { cardId: string; publicKey: Buffer },
    how: 'first-use' | 'chain' | 'trust',
  ): Promise<Pin> {
    const now = new Date().toISOString();
    const old = this.get(identity);
    const history =
      old && old.cardId !== card.cardId && how !== 'first-use'
        ? [
            ...old.history,
            { cardId: old.cardId, publicKey: old.publicKey, pinnedAt: old.pinnedAt, replacedAt: now, how },
          ]
        : (old?.history ?? []);
    const pin: Pin = {
      cardId: card.cardId,
      publicKey: card.publicKey.toString('base64'),
      pinnedAt: now,
      firstSeen: old?.firstSeen ?? now,
      history: history.slice(-MAX_HISTORY),
    };
    await this.update({ ...this.contents, identities: { ...this.contents.identities, [identity]: pin } });
    return pin;
  }

  groupOwner(groupId: GroupId): Identity | undefined {
    return Object.hasOwn(this.contents.groupOwners, groupId) ? this.contents.groupOwners[groupId] : undefined;
  }

  async pinGroupOwner(groupId: GroupId, owner: Identity): Promise<void> {
    await this.update({ ...this.contents, groupOwners: { ...this.contents.groupOwners, [groupId]: owner } });
  }

  /**
   * Writes are serialized. Each merges what is on disk first (another process of this identity,
   * e.g. the CLI beside an app, may have pinned since): the newer pin of an identity wins, so a
   * pin is never lost to a concurrent writer and re-pinned on "first use" later.
   */
  private update(next: Contents): Promise<void> {
    this.contents = next;
    const write = this.writing.then(async () => {
      const text = await this.io.files.read(this.path);
      if (text !== undefined) this.contents = merge(decode(this.io.cipher, text, this.key, this.aad), this.contents);
      const plain = Buffer.from(JSON.stringify(this.contents), 'utf8');
      await this.io.files.replaceDurably(
        this.path,
        JSON.stringify({ v: VERSION, sealed: this.io.cipher.seal(this.key, plain, this.aad) }),
      );
    });
    this.writing = write.catch(() => undefined);
    return write;
  }
}

/** `mine` updated with what only `disk` has, and with `disk`'s pins where they are newer. */
function merge(disk: Contents, mine: Contents): Contents {
  const identities = { ...disk.identities };
  for (const [identity, pin] of Object.entries(mine.identities)) {
    const theirs = Object.hasOwn(identities, identity) ? identities[identity] : undefined;
    if (!theirs || theirs.pinnedAt <= pin.pinnedAt) identities[identity] = pin;
  }
  return { identities, groupOwners: { ...disk.groupOwners, ...mine.groupOwners } };
}

function decode(cipher: SealingCipher, text: string, key: Buffer, aad: string): Contents {
  const corrupt = () => new ConduitError('INTEGRITY', 'The pin store failed verification (corrupt or tampered).');
  let plain: Buffer;
  try {
    const raw = JSON.parse(text) as { v?: unknown; sealed?: unknown };
    if (raw.v !== VERSION || !isSealed(raw.sealed)) throw corrupt();
    plain = cipher.open(key, raw.sealed, aad);
  } catch {
    throw corrupt();
  }
  try {
    const parsed = Contents.safeParse(JSON.parse(plain.toString('utf8')));
    if (!parsed.success) throw corrupt();
    return parsed.data;
  } catch {
    throw corrupt();
  } finally {
    plain.fill(0);
  }
}
