import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { initPythia } from '@virgilsecurity/pythia-crypto';
import { initCrypto } from 'virgil-crypto';

// Node only: exported as `@conduit/shared/virgil-wasm`, never from the (browser-safe) main entry.

let crypto: Promise<void> | undefined;
let pythia: Promise<void> | undefined;

/**
 * Loads the WASM core of virgil-crypto from its bytes. Needed on Node 20: the Emscripten loaders
 * see the global `fetch`, try to fetch the .wasm by path and fail, and both Virgil libraries cache
 * a failed init for the life of the process, so this must run before e3kit, virgil-sdk's token
 * signer or anything else uses them. Idempotent.
 */
export function initVirgilWasm(): Promise<void> {
  crypto ??= (async () => {
    // Resolve each core next to the wrapper that loads it (the same module instances e3kit-node uses).
    const wasmBinary = await readCore('virgil-crypto', '@virgilsecurity/core-foundation/libfoundation.wasm');
    await initCrypto({ foundation: [{ wasmBinary }] });
  })();
  return crypto;
}

/**
 * Loads pythia-crypto's core (password key backups, the directory stand-in's Pythia API). Separate
 * from initVirgilWasm because it costs ~25 MiB of peak memory while it compiles: a client loads it
 * only to back up or restore a key. Idempotent.
 */
export function initPythiaWasm(): Promise<void> {
  pythia ??= (async () => {
    const wasmBinary = await readCore('@virgilsecurity/pythia-crypto', '@virgilsecurity/core-pythia/libpythia.wasm');
    await initPythia({ pythia: [{ wasmBinary }] });
  })();
  return pythia;
}

/** The .wasm bytes resolved from the package that loads them, so they match its JS glue. */
function readCore(wrapper: string, core: string): Promise<Buffer> {
  const fromWrapper = createRequire(createRequire(import.meta.url).resolve(wrapper));
  return readFile(fromWrapper.resolve(core));
}
