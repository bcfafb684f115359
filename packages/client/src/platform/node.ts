import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { closeEThree, openEThree } from './node/e3kit.js';
import { EncryptedKeyStore } from './node/key-store.js';
import { initPythiaWasm, initVirgilWasm } from '@conduit/shared/virgil-wasm';
import { nodeDownloadSink } from './node/download-sink.js';
import { nodeObjectStorage } from './node/http-storage.js';
import { openReplica } from './node/open-replica.js';
import { nodeSealingCipher } from './node/sealing-cipher.js';
import { nodeSha256 } from './node/sha256.js';
import { nodeSourceFiles } from './node/source-files.js';
import { nodeStateFiles } from './node/state-files.js';
import type { Platform } from './platform.js';
import { passphraseKey } from './node/passphrase-key.js';

/** The Node.js platform: e3kit-node, node:crypto, node:fs and better-sqlite3. */
export const nodePlatform: Platform = {
  initCrypto: initVirgilWasm,
  initPythia: initPythiaWasm,
  openEThree,
  closeEThree,
  unlockKeyStore: (path, password) => EncryptedKeyStore.unlock(path, password),
  openReplica,
  passphraseKey,
  randomHex: (bytes) => randomBytes(bytes).toString('hex'),
  files: {
    rename,
    removeTree: (path) => rm(path, { recursive: true, force: true }),
  },
  stateFiles: nodeStateFiles,
  sourceFiles: nodeSourceFiles,
  downloadSink: nodeDownloadSink,
  objectStorage: nodeObjectStorage,
  sha256: nodeSha256,
  sealingCipher: nodeSealingCipher,
};
