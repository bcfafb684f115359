import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { initCrypto } from 'virgil-crypto';
import { initPythia } from '@virgilsecurity/pythia-crypto';

let ready: Promise<void> | undefined;

/**
 * Initialises the Virgil WASM modules from their bytes. On Node 20 the Emscripten loaders see the
 * global `fetch` and try to fetch the .wasm by path, which fails; the libraries also cache a failed
 * init forever, so this must run before anything else touches them. Idempotent.
 */
export function initVirgilCrypto(): Promise<void> {
  ready ??= load();
  return ready;
}

async function load(): Promise<void> {
  // Resolve the cores next to the wrappers that load them, so the bytes match the JS glue.
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
}
