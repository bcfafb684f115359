/**
 * Contract: the UNMODIFIED twilio-sync client and twilio library against the devstack Sync
 * emulator, through Conduit's adapters (TwilioSyncAdmin, TwilioSyncTokenIssuer, TwilioSyncChannel):
 * rate limits, outages, dropped sockets and malformed input.
 */
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_WRITE_LIMIT } from '@conduit/devstack';
import WebSocket from 'ws';
import { SyncRateLimitedError, SyncUnavailableError, TwilioSyncAdmin } from '@conduit/server';
import { TwilioSyncChannel } from '@conduit/client/twilio-sync-channel';
import {
  channel,
  eventually,
  rawClient,
  rejection,
  restMap,
  uniqueName,
  useSyncStacks,
  waitForState,
} from './support/sync.js';

const { open } = useSyncStacks();

describe('Sync emulator with unmodified twilio-sync and twilio', () => {
  it('rate-limits writes per map: REST 429 / 54009 with Retry-After, SyncRateLimitedError, CDS 429', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const bobMap = await (await rawClient(open, 'bob')).map({ id: map, mode: 'open_existing' });
    open.emu.faults.setRateLimit(2);
    try {
      await restMap(open, map).syncMapItems.create({ key: 'a', data: {} });
      await restMap(open, map).syncMapItems.create({ key: 'b', data: {} });
      const err = await rejection(restMap(open, map).syncMapItems.create({ key: 'c', data: {} }));
      expect([err.status, err.code]).toEqual([429, 54009]);
      const limited = await rejection(open.admin.removeMapItem(map, 'a')); // deletes count too
      expect(limited).toBeInstanceOf(SyncRateLimitedError);
      expect(limited.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(limited.retryAfterMs).toBe(1_000);
      const cds = await rejection(bobMap.set('d', {})); // PUT is not retried by the client
      expect([cds.status, cds.code]).toEqual([429, 54009]);
    } finally {
      open.emu.faults.setRateLimit(DEFAULT_SYNC_WRITE_LIMIT);
    }
    expect(await open.admin.removeMapItem(map, 'a')).toBe('removed');
  });

  it('reports 5xx and timeouts as SyncUnavailableError', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    open.emu.faults.failNextRest(1, 503);
    const failed = await rejection(open.admin.removeMapItem(map, 'x'));
    expect(failed).toBeInstanceOf(SyncUnavailableError);
    expect(failed.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(await open.admin.removeMapItem(map, 'x')).toBe('absent'); // only one failure was injected

    const impatient = new TwilioSyncAdmin({ ...open.creds, restBaseUrl: open.emu.restUrl, timeoutMs: 200 });
    open.emu.faults.delayNextRest(1, 1_000);
    const timedOut = await rejection(impatient.ensureMap(uniqueName()));
    expect(timedOut).toBeInstanceOf(SyncUnavailableError);
    expect(String(timedOut.message)).toContain('timeout');
  });

  it('survives dropped sockets: the client reconnects, replays missed events and gets new ones', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const bobClient = await rawClient(open, 'bob');
    const bobMap = await bobClient.map({ id: map, mode: 'open_existing' });
    const alice = await channel(open, 'alice');
    const aliceKeys = new Set<string>();
    await alice.subscribe(map, (key) => aliceKeys.add(key));
    const keys = new Set<string>();
    bobMap.on('itemAdded', ({ item }: { item: { key: string } }) => keys.add(item.key));
    await open.admin.setMapItem(map, 'before', { n: 0 }, 600);
    await eventually(() => keys.has('before'));

    open.emu.faults.dropSockets();
    await restMap(open, map).syncMapItems.create({ key: 'while-down', data: { n: 1 } });
    await waitForState(bobClient, 'connected', 10_000);
    await eventually(() => keys.has('while-down'), 10_000);
    await open.admin.setMapItem(map, 'after', { n: 2 }, 600);
    await eventually(() => keys.has('after'));
    await eventually(() => aliceKeys.has('while-down') && aliceKeys.has('after'), 10_000); // the channel too
  });

  it('answers malformed Twilsock input with a protocol close instead of crashing', async () => {
    const ws = new WebSocket(open.emu.twilsockUri);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const frames: string[] = [];
    ws.on('message', (d: Buffer) => frames.push(d.toString('utf8')));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.from('HELLO V9\r\n{}'));
    expect(await closed).toBe(1002);
    expect(frames[0]).toContain('"code":406');
    // The emulator still serves others.
    expect(await open.admin.removeMapItem(uniqueName(), 'k')).toBe('absent');
  });

  it('gives up on a server that never finishes the handshake without an uncaught error', async () => {
    // A TCP peer that accepts and stays silent: the socket is still connecting when the client is
    // shut down, which on Node 20 (`ws`) used to end the process with an uncaught exception.
    const silent = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    const uncaught: unknown[] = [];
    const record = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtExceptionMonitor', record);
    try {
      const { port } = silent.address() as AddressInfo;
      const err = await rejection(
        TwilioSyncChannel.connect({
          twilsockUri: `ws://127.0.0.1:${port}/v3/wsconnect`,
          connectTimeoutMs: 300,
          getToken: async () => (await open.tokens.issue('alice')).value,
        }),
      );
      expect(err.code).toBe('TIMEOUT');
      await new Promise((resolve) => setTimeout(resolve, 300)); // ws reports the abort on a later tick
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtExceptionMonitor', record);
      silent.close();
    }
  });
});
