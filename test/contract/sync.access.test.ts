/**
 * Contract: the UNMODIFIED twilio-sync client and twilio library against the devstack Sync
 * emulator, through Conduit's adapters (TwilioSyncAdmin, TwilioSyncTokenIssuer, TwilioSyncChannel):
 * who may connect, read and write, and for how long.
 */
import { ConduitError } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { TwilioSyncTokenIssuer } from '@conduit/server';
import { TwilioSyncChannel } from '@conduit/client/twilio-sync-channel';
import {
  channel,
  channels,
  eventually,
  rawClient,
  rejection,
  restMap,
  uniqueName,
  useSyncStacks,
  waitForState,
} from './support/sync.js';

const { open, acl } = useSyncStacks();

describe('Sync emulator with unmodified twilio-sync and twilio', () => {
  it('denies bad tokens: the client goes denied and the channel reports UNAUTHENTICATED', async () => {
    const wrongSecret = new TwilioSyncTokenIssuer({ ...open.creds, apiKeySecret: 'not-the-secret', ttlSeconds: 600 });
    const client = await rawClient(open, 'mallory', (await wrongSecret.issue('mallory')).value);
    await waitForState(client, 'denied');

    const otherService = new TwilioSyncTokenIssuer({
      ...open.creds,
      serviceSid: `IS${'0'.repeat(32)}`,
      ttlSeconds: 600,
    });
    const err = await rejection(
      TwilioSyncChannel.connect({
        twilsockUri: open.emu.twilsockUri,
        connectTimeoutMs: 5_000,
        getToken: async () => (await otherService.issue('mallory')).value,
      }),
    );
    expect(err).toBeInstanceOf(ConduitError);
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('enforces map permissions when ACL is enabled', async () => {
    const map = uniqueName();
    await acl.admin.ensureMap(map);
    await restMap(acl, map).syncMapItems.create({ key: 'secret', data: { s: 1 } });

    const carol = await channel(acl, 'carol');
    expect((await rejection(carol.subscribe(map, () => undefined))).code).toBe('FORBIDDEN');
    const raw = await rawClient(acl, 'carol');
    expect((await rejection(raw.map({ id: map, mode: 'open_existing' }))).status).toBe(403);
    expect((await rejection(raw.map({ id: uniqueName() }))).status).toBe(403); // clients cannot create

    await acl.admin.setMapPermissions(map, 'carol', { read: true, write: false, manage: false });
    const seen = new Map<string, unknown>();
    await carol.subscribe(map, (k, d) => seen.set(k, d));
    expect(seen.get('secret')).toEqual({ s: 1 });
    // Read-only (what every group member gets): no create, overwrite, update or delete, as on Twilio.
    const carolMap = await raw.map({ id: map, mode: 'open_existing' });
    const forbidden = [403, 54007];
    const codes = (e: Record<string, unknown>) => [e.status, e.code];
    expect(codes(await rejection(carolMap.set('mine', { m: 1 })))).toEqual(forbidden);
    expect(codes(await rejection(carolMap.set('secret', { s: 2 })))).toEqual(forbidden);
    expect(codes(await rejection(carolMap.update('secret', { s: 3 })))).toEqual(forbidden);
    expect(codes(await rejection(carolMap.remove('secret')))).toEqual(forbidden);
    expect((await restMap(acl, map).syncMapItems('secret').fetch()).data).toEqual({ s: 1 });

    await acl.admin.setMapPermissions(map, 'carol', { read: true, write: true, manage: false });
    await carolMap.set('mine', { m: 1 });
    await eventually(() => seen.has('mine'));
  });

  it('refreshes the token before it expires and keeps working', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    let issued = 0;
    const dave = await channel(open, 'dave', 3, () => issued++);
    await eventually(() => issued >= 2, 5_000);
    await new Promise((r) => setTimeout(r, 1_500)); // past the first token's expiry
    const seen = new Map<string, unknown>();
    await dave.subscribe(map, (k, d) => seen.set(k, d));
    await open.admin.setMapItem(map, 'still-here', { ok: true }, 60);
    await eventually(() => seen.has('still-here'));
    expect(seen.get('still-here')).toEqual({ ok: true });
  });

  it('ends access when the token expires if its refresh is refused (a revoked device)', async () => {
    const map = uniqueName();
    await open.admin.ensureMap(map);
    const tokens = new TwilioSyncTokenIssuer({ ...open.creds, ttlSeconds: 3 });
    let issued = 0;
    const errors: unknown[] = [];
    const ch = await TwilioSyncChannel.connect({
      twilsockUri: open.emu.twilsockUri,
      connectTimeoutMs: 5_000,
      // As the server answers once the device is revoked: the first token, then DEVICE_REVOKED.
      getToken: async () => {
        issued += 1;
        if (issued > 1) throw new ConduitError('DEVICE_REVOKED');
        return (await tokens.issue('erin')).value;
      },
      onError: (err) => errors.push(err),
    });
    channels.push(ch);
    const received: string[] = [];
    await ch.subscribe(map, (key) => received.push(key));
    await open.admin.setMapItem(map, 'before', { n: 0 }, 60); // the token still lives
    await eventually(() => received.includes('before'));
    await eventually(() => errors.some((e) => e instanceof ConduitError && e.code === 'DEVICE_REVOKED'));

    // At expiry the service closes the connection: no more reads, no more live events.
    await new Promise((r) => setTimeout(r, 3_500));
    await expect(ch.subscribe(map, () => undefined)).rejects.toMatchObject({ code: 'DEVICE_REVOKED' });
    await restMap(open, map).syncMapItems.create({ key: 'by-others', data: { n: 2 } });
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toEqual(['before']);
  });
});
