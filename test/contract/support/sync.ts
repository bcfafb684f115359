/**
 * The contract suites' Sync stacks: the devstack Sync emulator reached through Conduit's adapters,
 * the UNMODIFIED twilio-sync client and the twilio library, and helpers to drive them.
 */
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { SyncClient, type SyncList, type SyncMap } from 'twilio-sync';
import { afterAll, beforeAll } from 'vitest';
import { createSyncCredentials, startSyncEmulator, type SyncCredentials, type SyncEmulator } from '@conduit/devstack';
import { LocalSyncHttpClient, TwilioSyncAdmin, TwilioSyncTokenIssuer } from '@conduit/server';
import { TwilioSyncChannel } from '@conduit/client/twilio-sync-channel';

export interface Stack {
  creds: SyncCredentials;
  emu: SyncEmulator;
  admin: TwilioSyncAdmin;
  tokens: TwilioSyncTokenIssuer;
  rest: ReturnType<typeof twilio>;
}

const clients: SyncClient[] = [];
/** Channels to close after the file; tests that connect one themselves push it here. */
export const channels: TwilioSyncChannel[] = [];

async function startStack(aclEnabled: boolean): Promise<Stack> {
  const creds = createSyncCredentials();
  const emu = await startSyncEmulator({ ...creds, aclEnabled });
  return {
    creds,
    emu,
    admin: new TwilioSyncAdmin({ ...creds, restBaseUrl: emu.restUrl, timeoutMs: 2_000 }),
    tokens: new TwilioSyncTokenIssuer({ ...creds, ttlSeconds: 600 }),
    // The direct library path authenticates with the API key, the admin with the auth token.
    rest: twilio(creds.apiKeySid, creds.apiKeySecret, {
      accountSid: creds.accountSid,
      httpClient: new LocalSyncHttpClient(emu.restUrl, { timeout: 2_000 }),
    }),
  };
}

export const uniqueName = (): string => `g_${randomBytes(8).toString('hex')}`;
export const restMap = (s: Stack, map: string) => s.rest.sync.v1.services(s.creds.serviceSid).syncMaps(map);

export async function rawClient(s: Stack, identity: string, token?: string): Promise<SyncClient> {
  const client = new SyncClient(token ?? (await s.tokens.issue(identity)).value, {
    twilsock: { uri: s.emu.twilsockUri },
  });
  clients.push(client);
  return client;
}

export async function channel(
  s: Stack,
  identity: string,
  ttlSeconds = 600,
  onToken?: () => void,
): Promise<TwilioSyncChannel> {
  const tokens = new TwilioSyncTokenIssuer({ ...s.creds, ttlSeconds });
  const ch = await TwilioSyncChannel.connect({
    twilsockUri: s.emu.twilsockUri,
    connectTimeoutMs: 5_000,
    getToken: async () => {
      onToken?.();
      return (await tokens.issue(identity)).value;
    },
  });
  channels.push(ch);
  return ch;
}

/**
 * Shuts unmodified clients down. A client still connecting (say reconnecting after a dropped
 * socket) is given time to finish first: twilsock's close of a connecting `ws` socket raises an
 * uncaught error on Node 20 (the SDK guards its own clients; these are raw on purpose). shutdown()
 * never settles from some states: it is bounded.
 */
export async function shutdownRawClients(list: SyncClient[]): Promise<void> {
  const bounded = (p: Promise<unknown>, ms: number) =>
    Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms))]);
  await Promise.all(
    list.map(async (c) => {
      if (c.connectionState === 'connecting') await bounded(waitForState(c, 'connected'), 5_000);
      await bounded(c.shutdown(), 2_000);
    }),
  );
}

export function waitForState(client: SyncClient, state: string, timeoutMs = 5_000): Promise<void> {
  if (client.connectionState === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${state}' within ${timeoutMs} ms`)), timeoutMs);
    client.on('connectionStateChanged', (s) => {
      if (s === state) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Resolves with the first event payload matching `match`. */
export function nextEvent<T>(
  emitter: SyncMap | SyncList,
  event: 'itemAdded' | 'itemRemoved',
  match: (e: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const on = emitter.on as unknown as (this: typeof emitter, ev: string, listener: (e: T) => void) => void;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching '${event}' within ${timeoutMs} ms`)), timeoutMs);
    on.call(emitter, event, (e: T) => {
      if (match(e)) {
        clearTimeout(timer);
        resolve(e);
      }
    });
  });
}

/** Polls until `check` returns true. */
export async function eventually(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/**
 * Starts an emulator without ACLs (`open`) and one enforcing map permissions (`acl`) in this
 * file's beforeAll; closes them, and every client and channel made here, in its afterAll. The
 * stacks are filled in place, so a file can destructure them before they start.
 */
export function useSyncStacks(): { open: Stack; acl: Stack } {
  const stacks = { open: {} as Stack, acl: {} as Stack };
  let started: Stack[] = [];

  beforeAll(async () => {
    started = await Promise.all([startStack(false), startStack(true)]);
    Object.assign(stacks.open, started[0]);
    Object.assign(stacks.acl, started[1]);
  });

  afterAll(async () => {
    await Promise.all(channels.map((c) => c.close().catch(() => undefined)));
    await shutdownRawClients(clients);
    await Promise.all(started.map((s) => s.emu.close()));
  });

  return stacks;
}
