import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { initCrypto } from 'virgil-crypto';

let ready: Promise<void> | undefined;

/**
 * Initialises virgil-crypto's WASM from its bytes. On Node 20 the Emscripten loader sees the global
 * `fetch` and tries to fetch the .wasm by path, which fails, and virgil-crypto caches a failed init
 * for good, so this must run before anything else touches the library. Idempotent.
 */
export function initVirgilCrypto(): Promise<void> {
  ready ??= (async () => {
    // Resolve the core next to virgil-crypto so the bytes always match the JS glue that loads them.
    const fromCrypto = createRequire(createRequire(import.meta.url).resolve('virgil-crypto'));
    const wasmBinary = await readFile(fromCrypto.resolve('@virgilsecurity/core-foundation/libfoundation.wasm'));
    await initCrypto({ foundation: [{ wasmBinary }] });
  })();
  return ready;
}
