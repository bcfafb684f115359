import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VirgilCrypto } from 'virgil-crypto';
import { TokenVerifier } from './auth.js';
import { CardsService, generateSigningKey, publicKeyOf } from './cards.js';
import { VirgilServiceError } from './errors.js';
import { readJsonBody, send, sendError } from './http.js';
import { KeyknoxService } from './keyknox.js';
import { generateTransformationKey } from './pythia.js';
import { previousHashOf, virgilRoutes, type Route } from './routes.js';
import { emptyState, loadState, StateFile, type DirectoryState } from './state.js';
import { initPythiaWasm, initVirgilWasm } from '@conduit/shared/virgil-wasm';

export interface VirgilDirectoryOptions {
  appId: string;
  appKeyId: string;
  /** base64 of the app public key that verifies the Virgil JWTs clients present. */
  appPublicKey: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** When set: loaded at start and rewritten after each write, so a restart keeps cards, Keyknox and keys. */
  dataFile?: string;
  /** Clock in epoch ms, for token expiry. Tests use it to play a directory whose clock runs ahead. */
  now?: () => number;
}

export interface VirgilDirectory {
  url: string;
  /** base64 of the directory's card-countersigning public key: clients whitelist it as signer 'virgil'. */
  servicePublicKey: string;
  close(): Promise<void>;
}

/** Starts a local Virgil-compatible directory (Cards v5, Keyknox v1/v2, Pythia brainkey). */
export async function startVirgilDirectory(opts: VirgilDirectoryOptions): Promise<VirgilDirectory> {
  await Promise.all([initVirgilWasm(), initPythiaWasm()]); // the stand-in serves Pythia too
  const crypto = new VirgilCrypto();
  const verifier = new TokenVerifier(opts, crypto, opts.now ?? Date.now);
  const stateFile = opts.dataFile === undefined ? undefined : new StateFile(opts.dataFile);
  const loaded = opts.dataFile === undefined ? null : await loadState(opts.dataFile);
  const state = loaded ?? emptyState(generateSigningKey(crypto), generateTransformationKey());
  // Persist fresh keys at once: a restart must keep the key clients whitelisted.
  if (stateFile && !loaded) await stateFile.save(state);

  const routes = virgilRoutes(new CardsService(state, crypto), new KeyknoxService(state), state.pythiaKey);
  const server = createServer({ requestTimeout: 30_000 }, (req, res) => {
    void handle(req, res, { routes, verifier, state, stateFile });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    servicePublicKey: publicKeyOf(crypto, state.signingKey),
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
      await stateFile?.flush();
    },
  };
}

interface Deps {
  routes: Route[];
  verifier: TokenVerifier;
  state: DirectoryState;
  stateFile: StateFile | undefined;
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: Deps): Promise<void> {
  try {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const matched = matchRoute(deps.routes, req.method, path);
    if (!matched) throw new VirgilServiceError('NOT_FOUND');
    const { route, params } = matched;
    // Authenticate before reading the body: anonymous peers cannot make the directory buffer anything.
    const identity = deps.verifier.identityOf(req.headers.authorization);
    const previousHash = previousHashOf(req.headers['virgil-keyknox-previous-hash']);
    const body = req.method === 'GET' ? undefined : await readJsonBody(req);
    const reply = route.handle({ identity, body, params, previousHash });
    if (route.writes) await deps.stateFile?.save(deps.state);
    send(res, reply);
  } catch (err) {
    // Never echo the cause: it may quote request content. The code says what went wrong.
    sendError(res, err instanceof VirgilServiceError ? err : new VirgilServiceError('INTERNAL'));
  }
}

function matchRoute(
  routes: Route[],
  method: string | undefined,
  path: string,
): { route: Route; params: string[] } | undefined {
  for (const route of routes) {
    const match = route.method === method ? route.pattern.exec(path) : null;
    if (match) return { route, params: match.slice(1) };
  }
  return undefined;
}
