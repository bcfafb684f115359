import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { initPythia } from '@virgilsecurity/pythia-crypto';
import { initCrypto } from 'virgil-crypto';

let crypto: Promise<void> | undefined;
let pythia: Promise<void> | undefined;

/**
 * Loads the WASM cores of virgil-crypto and pythia-crypto from their bytes. Needed on Node 20: the
 * Emscripten loaders see the global `fetch`, try to fetch the .wasm by path and fail, and both
 * libraries cache a failed init for the life of the process, so these must run before e3kit (or
 * anything else) uses them. Idempotent. Pythia is only used by the password key backup
 * (register/login), so it is loaded only then: it costs ~25 MiB of peak memory while it compiles.
 */
export function initVirgilWasm(): Promise<void> {
  crypto ??= (async () => {
    // Resolve each core next to the wrapper that loads it (the same module instances e3kit-node uses).
    const require = createRequire(import.meta.url);
    const fromCrypto = createRequire(require.resolve('virgil-crypto'));
    const foundation = await readFile(fromCrypto.resolve('@virgilsecurity/core-foundation/libfoundation.wasm'));
    await initCrypto({ foundation: [{ wasmBinary: foundation }] });
  })();
  return crypto;
}

/** Loads pythia-crypto's core (password key backups); call before backing up or restoring a key. */
export function initPythiaWasm(): Promise<void> {
  pythia ??= (async () => {
    const require = createRequire(import.meta.url);
    const fromPythia = createRequire(require.resolve('@virgilsecurity/pythia-crypto'));
    const core = await readFile(fromPythia.resolve('@virgilsecurity/core-pythia/libpythia.wasm'));
    await initPythia({ pythia: [{ wasmBinary: core }] });
  })();
  return pythia;
}
