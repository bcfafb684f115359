import type { EThree } from '@virgilsecurity/e3kit-node';
import type { Replica } from '../records/replica.js';
import type { KeySealer } from '../virgil/self-seal.js';
import type { DownloadSink } from './download-sink.js';
import type { KeyStore } from './key-store.js';
import type { OpenEThreeOptions } from './node/e3kit.js';
import type { ObjectStorage } from './object-storage.js';
import type { SealingCipher } from './sealing-cipher.js';
import type { Sha256Factory } from './sha256.js';
import type { SourceFiles } from './source-files.js';
import type { StateFiles } from './state-files.js';

/**
 * What the SDK's core needs from its runtime, so the same core can later run in a browser (with
 * e3kit-browser and WebCrypto) behind another implementation. Each port has its own small file
 * here; `node.ts` wires the Node implementations (under node/), which ConduitClient.open uses by
 * default. Outside platform/ the core imports no Node built-in (an eslint rule keeps it so).
 */
export interface Platform {
  /** Loads the Virgil crypto cores; idempotent. */
  initCrypto(): Promise<void>;
  /** Loads the Pythia core (password key backups only); idempotent. */
  initPythia(): Promise<void>;
  /** Opens E3Kit for one identity (e3kit-node here). */
  openEThree(opts: OpenEThreeOptions): Promise<EThree>;
  /** Releases what openEThree holds (its local storage lock). */
  closeEThree(ethree: EThree): Promise<void>;
  /** Opens (creating on first use) the private key's store, encrypted at rest under the password. */
  unlockKeyStore(path: string, password: string): Promise<KeyStore>;
  /** Opens this endpoint's records replica in `dir`, its at-rest key sealed by `sealer`. */
  openReplica(dir: string, sealer: KeySealer, log: (line: string) => void): Promise<Replica>;
  /** A 32-byte key from a passphrase with a memory-hard KDF (the OIDC key backup secret). */
  passphraseKey(passphrase: string, salt: Uint8Array): Promise<Uint8Array>;
  /** `bytes` random bytes as lowercase hex (group ids). */
  randomHex(bytes: number): string;
  /** Local storage of this identity's files. */
  files: PlatformFiles;
  /** The identity's small state files (checkpoints, logs, pins). */
  stateFiles: StateFiles;
  /** Reads the files being sent. */
  sourceFiles: SourceFiles;
  /** Holds a download until it verified, then gives it its final name. */
  downloadSink: DownloadSink;
  /** Moves ciphertext to and from object storage. */
  objectStorage: ObjectStorage;
  /** Synchronous SHA-256 (upload segment digests, upload state names). */
  sha256: Sha256Factory;
  /** Seals the pin store at rest. */
  sealingCipher: SealingCipher;
}

export interface PlatformFiles {
  /** Moves a file aside (a key store sealed under an older password). */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a directory tree, if present (an unregistered identity's state). */
  removeTree(path: string): Promise<void>;
}
