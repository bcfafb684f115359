import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { closeEThree, openEThree } from '../crypto/e3kit.js';
import { EncryptedKeyStore } from '../crypto/key-store.js';
import { initPythiaWasm, initVirgilWasm } from '@conduit/shared/virgil-wasm';
import { openReplica } from '../records/open-replica.js';
import type { Platform } from './platform.js';

/** The Node.js platform: e3kit-node, node:crypto, node:fs and better-sqlite3. */
export const nodePlatform: Platform = {
  initCrypto: initVirgilWasm,
  initPythia: initPythiaWasm,
  openEThree,
  closeEThree,
  unlockKeyStore: (path, password) => EncryptedKeyStore.unlock(path, password),
  openReplica,
  randomHex: (bytes) => randomBytes(bytes).toString('hex'),
  files: {
    rename,
    removeTree: (path) => rm(path, { recursive: true, force: true }),
  },
};
