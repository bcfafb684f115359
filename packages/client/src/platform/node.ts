import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { closeEThree, openEThree } from '../crypto/e3kit.js';
import { initPythiaWasm, initVirgilWasm } from '../crypto/virgil-wasm.js';
import type { Platform } from './platform.js';

/** The Node.js platform: e3kit-node, node:crypto and node:fs. */
export const nodePlatform: Platform = {
  initCrypto: initVirgilWasm,
  initPythia: initPythiaWasm,
  openEThree,
  closeEThree,
  randomHex: (bytes) => randomBytes(bytes).toString('hex'),
  files: {
    rename,
    removeTree: (path) => rm(path, { recursive: true, force: true }),
  },
};
