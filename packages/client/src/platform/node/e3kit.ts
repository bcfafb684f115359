import { mkdir, rm, stat } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { ConduitError, Identity } from '@conduit/shared';
import { EThree } from '@virgilsecurity/e3kit-node';
import { VirgilCardCrypto, VirgilCrypto } from 'virgil-crypto';
import { KeyEntryStorage, VirgilCardVerifier, type ICardVerifier, type IKeyEntryStorage, type Jwt } from 'virgil-sdk';
import { RefreshingJwtProvider } from '../../crypto/token-provider.js';
import { initVirgilWasm } from '@conduit/shared/virgil-wasm';

export { initVirgilWasm };

/** e3kit's own default; against it e3kit keeps the cloud's card checks on. */
export const VIRGIL_CLOUD_URL = 'https://api.virgilsecurity.com';

export interface OpenEThreeOptions {
  identity: string;
  /** Root for this process's Virgil state; each identity gets its own subdirectories. */
  storageDir: string;
  /** Base URL of Cards, Keyknox and Pythia; defaults to the Virgil cloud. */
  apiUrl?: string;
  /** base64 of the directory's countersigning key; required whenever apiUrl is not the cloud. */
  servicePublicKey?: string;
  getToken: () => Promise<string>;
  /** Where the private key lives: an unlocked EncryptedKeyStore (./key-store.ts). */
  keyEntryStorage: IKeyEntryStorage;
}

interface LevelDown {
  status: string;
  close(callback: (err?: Error) => void): void;
}

// Group storage is a LevelDB: a second open of the same directory in this process fails with
// "LOCK: already held", emitted where nothing can catch it, and the crypto loader's handlers then
// abort the process. Refusing up front turns that into a catchable error. Keyed by directory; an
// entry counts as released once its LevelDB is closed, by closeEThree or by anyone else.
const groupStores = new Map<string, LevelDown>();
const RELEASED = new Set(['new', 'closed']);

/**
 * Opens the unmodified e3kit-node for one identity. The private key lives in `keyEntryStorage`
 * (encrypted at rest), group tickets (encrypted by E3Kit under that key) under `storageDir/<identity>/`.
 */
export async function openEThree(opts: OpenEThreeOptions): Promise<EThree> {
  const identity = Identity.safeParse(opts.identity);
  if (!identity.success) throw new ConduitError('CONFIG', 'The identity is not valid.');
  const apiUrl = opts.apiUrl ?? VIRGIL_CLOUD_URL;
  const isCloud = apiUrl === VIRGIL_CLOUD_URL;
  if (!isCloud && !opts.servicePublicKey) {
    throw new ConduitError('CONFIG', 'servicePublicKey is required when apiUrl is not the Virgil cloud.');
  }
  await initVirgilWasm();
  const verifier = isCloud ? undefined : directoryCardVerifier(opts.servicePublicKey ?? '');

  const accessTokenProvider = new RefreshingJwtProvider(opts.getToken);
  const token = await accessTokenProvider.getToken({ service: 'cards', operation: '' });
  if (tokenIdentity(token) !== identity.data) {
    throw new ConduitError('CONFIG', 'The Virgil token does not belong to this identity.');
  }

  const root = resolve(opts.storageDir, identity.data);
  const groupStorageName = join(root, 'groups');
  const previous = groupStores.get(groupStorageName);
  if (previous && !RELEASED.has(previous.status)) {
    throw new ConduitError('CONFIG', 'This identity is already open in this process.');
  }
  await mkdir(root, { recursive: true, mode: 0o700 });
  await migratePlaintextKeys(join(root, 'keys'), opts.keyEntryStorage);
  // The constructor (rather than EThree.initialize) takes our provider; initialize would wrap
  // getToken in virgil-sdk's CachingJwtProvider, which never honours a forced reload.
  const eThree = new EThree(identity.data, {
    accessTokenProvider,
    apiUrl,
    keyEntryStorage: opts.keyEntryStorage,
    groupStorageName,
  });
  groupStores.set(groupStorageName, groupLevelOf(eThree));

  if (verifier) {
    // SECURITY: for any apiUrl but the cloud, e3kit-node builds its verifier with every check off,
    // so a directory could hand out any key for any identity. Restore the checks: the owner's self
    // signature, plus the directory's countersignature from the key we were configured with. The
    // GroupManager shares this CardManager, so group operations are covered too.
    setCardVerifier(eThree, verifier);
  }
  return eThree;
}

/**
 * Earlier versions used e3kit-node's default store, which writes the private key as plain base64:
 * move such keys into the encrypted store, then delete the clear copy.
 */
async function migratePlaintextKeys(legacyDir: string, into: IKeyEntryStorage): Promise<void> {
  const present = await stat(legacyDir).then(
    () => true,
    () => false,
  );
  if (!present) return;
  const legacy = new KeyEntryStorage(legacyDir);
  for (const entry of await legacy.list()) {
    if (!(await into.exists(entry.name))) await into.save({ name: entry.name, value: entry.value, meta: entry.meta });
  }
  await rm(legacyDir, { recursive: true, force: true });
}

function tokenIdentity(token: Jwt): string | undefined {
  try {
    return token.identity();
  } catch {
    return undefined; // `sub` is not `identity-<identity>`
  }
}

function directoryCardVerifier(servicePublicKey: string): ICardVerifier {
  const cardCrypto = new VirgilCardCrypto(new VirgilCrypto());
  try {
    cardCrypto.importPublicKey(servicePublicKey);
  } catch {
    throw new ConduitError('CONFIG', 'servicePublicKey is not a valid public key.');
  }
  return new VirgilCardVerifier(cardCrypto, {
    verifySelfSignature: true,
    // The cloud's own key cannot have signed a local directory's cards; the whitelist replaces it.
    verifyVirgilSignature: false,
    whitelists: [[{ signer: 'virgil', publicKeyBase64: servicePublicKey }]],
  });
}

function setCardVerifier(eThree: EThree, verifier: ICardVerifier): void {
  // `cardVerifier` is readonly in the typings only; CardManager reads the property on every check.
  (eThree.cardManager as { cardVerifier: ICardVerifier }).cardVerifier = verifier;
}

/** e3kit-base 2.5.x keeps the LevelDB (under its encryption layer) here; there is no public handle. */
const groupLevelOf = (eThree: EThree): LevelDown =>
  (eThree as unknown as { groupManager: { _localGroupStorage: { _encryptionLevel: LevelDown } } }).groupManager
    ._localGroupStorage._encryptionLevel;

/**
 * Releases the instance's LevelDB lock (e3kit-node 2.5.1 has no close). The instance must not be
 * used afterwards. A still-pending open is awaited first, so the close really releases the lock.
 */
export async function closeEThree(eThree: EThree): Promise<void> {
  const level = groupLevelOf(eThree);
  for (let waited = 0; level.status === 'opening' && waited < 5_000; waited += 10) {
    await new Promise((r) => setTimeout(r, 10));
  }
  if (level.status === 'open') {
    await new Promise<void>((res, rej) => level.close((err) => (err ? rej(err) : res())));
  }
}
