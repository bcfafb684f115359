import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { initPythia } from '@virgilsecurity/pythia-crypto';
import { initCrypto } from 'virgil-crypto';

let ready: Promise<void> | undefined;

/**
 * Loads the WASM cores of virgil-crypto and pythia-crypto from their bytes. Needed on Node 20: the
 * Emscripten loaders see the global `fetch`, try to fetch the .wasm by path and fail, and both
 * libraries cache a failed init for the life of the process, so this must run before e3kit (or
 * anything else) touches them. Idempotent.
 */
export function initVirgilWasm(): Promise<void> {
  ready ??= (async () => {
    // Resolve each core next to the wrapper that loads it (the same module instances e3kit-node uses).
    const require = createRequire(import.meta.url);
    const fromCrypto = createRequire(require.resolve('virgil-crypto'));
    const fromPythia = createRequire(require.resolve('@virgilsecurity/pythia-crypto'));
    const [foundation, pythia] = await Promise.all([
      readFile(fromCrypto.resolve('@virgilsecurity/core-foundation/libfoundation.wasm')),
      readFile(fromPythia.resolve('@virgilsecurity/core-pythia/libpythia.wasm')),
    ]);
    await Promise.all([
      initCrypto({ foundation: [{ wasmBinary: foundation }] }),
      initPythia({ pythia: [{ wasmBinary: pythia }] }),
    ]);
  })();
  return ready;
}
