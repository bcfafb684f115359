/**
 * Contract: the Sync emulator refuses what Twilio refuses (issue 13), driven by the UNMODIFIED
 * twilio-sync client and twilio library: token lifetime and header, item error codes, ETag.
 */
import { createHmac, randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { SyncClient } from 'twilio-sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncCredentials, startSyncEmulator, type SyncCredentials, type SyncEmulator } from '@conduit/devstack';
import { LocalSyncHttpClient, TwilioSyncTokenIssuer } from '@conduit/server';
import { TwilioSyncChannel } from '@conduit/client/twilio-sync-channel';
import { shutdownRawClients } from './support/sync.js';

const DAY = 86_400;

let creds: SyncCredentials;
let emu: SyncEmulator;
let rest: ReturnType<typeof twilio>;
const clients: SyncClient[] = [];

beforeAll(async () => {
  creds = createSyncCredentials();
  emu = await startSyncEmulator(creds);
  rest = twilio(creds.accountSid, creds.authToken, {
    httpClient: new LocalSyncHttpClient(emu.restUrl, { timeout: 2_000 }),
  });
});

afterAll(async () => {
  await shutdownRawClients(clients);
  await emu?.close();
});

/** A token from the `twilio` library's own AccessToken (header cty `twilio-fpa;v=1`). */
function libraryToken(identity: string, ttl: number): string {
  const { AccessToken } = twilio.jwt;
  const token = new AccessToken(creds.accountSid, creds.apiKeySid, creds.apiKeySecret, { identity, ttl });
  token.addGrant(new AccessToken.SyncGrant({ serviceSid: creds.serviceSid }));
  return token.toJwt();
}

/** The same claims signed by hand, with the JOSE header given (to leave `cty` out). */
function handToken(identity: string, header: Record<string, string>): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    jti: `${creds.apiKeySid}-${now}`,
    iss: creds.apiKeySid,
    sub: creds.accountSid,
    iat: now,
    exp: now + 600,
    grants: { identity, data_sync: { service_sid: creds.serviceSid } },
  };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const signed = `${b64(header)}.${b64(payload)}`;
  return `${signed}.${createHmac('sha256', creds.apiKeySecret).update(signed).digest('base64url')}`;
}

interface Outcome {
  state: string;
  errorCode: number | null;
}

/**
 * Connects an unmodified client and reports where it settles: `connected`, or `denied` with the
 * error code of the terminal connectionError that comes with it.
 */
function connect(token: string, timeoutMs = 5_000): Promise<Outcome> {
  const client = new SyncClient(token, { twilsock: { uri: emu.twilsockUri } });
  clients.push(client);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client still '${client.connectionState}'`)), timeoutMs);
    const settle = (outcome: Outcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    let errorCode: number | null | undefined;
    // twilio-sync forwards twilsock's event, which carries errorCode (twilio-sync's typing leaves it out).
    client.on('connectionError', (e) => {
      errorCode = (e as { errorCode?: number | null }).errorCode ?? null;
      if (client.connectionState === 'denied') settle({ state: 'denied', errorCode });
    });
    client.on('connectionStateChanged', (state) => {
      if (state === 'connected') settle({ state, errorCode: null });
      if (state === 'denied' && errorCode !== undefined) settle({ state, errorCode });
    });
  });
}

async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

const uniqueName = (): string => `f_${randomBytes(8).toString('hex')}`;
const itemsOf = (map: string) => rest.sync.v1.services(creds.serviceSid).syncMaps(map).syncMapItems;

/** A raw form POST, for what the library itself refuses to send (a create without Data). */
async function rawPost(path: string, form: Record<string, string>): Promise<{ status: number; code: unknown }> {
  const res = await fetch(`${emu.restUrl}${path}`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${creds.accountSid}:${creds.authToken}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, code: ((await res.json()) as { code?: unknown }).code };
}

describe('Sync emulator access tokens, as Twilio checks them', () => {
  it('accepts a token that lives exactly 24 h and refuses 24 h + 1 s (Twilsock 51121)', async () => {
    expect(await connect(libraryToken('ann', DAY))).toEqual({ state: 'connected', errorCode: null });
    expect(await connect(libraryToken('ann', DAY + 1))).toEqual({ state: 'denied', errorCode: 51121 });
  });

  it('requires the cty "twilio-fpa;v=1" header (Twilsock 51114 without it)', async () => {
    const withCty = handToken('ben', { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
    expect(await connect(withCty)).toEqual({ state: 'connected', errorCode: null });
    const withoutCty = handToken('ben', { alg: 'HS256', typ: 'JWT' });
    expect(await connect(withoutCty)).toEqual({ state: 'denied', errorCode: 51114 });
    const otherCty = handToken('ben', { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=2' });
    expect(await connect(otherCty)).toEqual({ state: 'denied', errorCode: 51114 });
  });

  it("Conduit's token issuer at its 24 h maximum connects", async () => {
    const tokens = new TwilioSyncTokenIssuer({ ...creds, ttlSeconds: DAY });
    const channel = await TwilioSyncChannel.connect({
      twilsockUri: emu.twilsockUri,
      connectTimeoutMs: 5_000,
      getToken: async () => (await tokens.issue('cleo')).value,
    });
    await channel.close();
  });
});

describe('Sync emulator Map Item errors and ETag, as Twilio answers them', () => {
  it('answers items with their revision as ETag, and takes it back as ifMatch through the library', async () => {
    const map = uniqueName();
    await rest.sync.v1.services(creds.serviceSid).syncMaps.create({ uniqueName: map });
    const created = await itemsOf(map).createWithHttpInfo({ key: 'k', data: { n: 0 } });
    expect([created.statusCode, created.headers.etag]).toEqual([201, '0']);

    const fetched = await itemsOf(map)('k').fetchWithHttpInfo();
    expect(fetched.headers.etag).toBe(fetched.body.revision);
    const updated = await itemsOf(map)('k').updateWithHttpInfo({ data: { n: 1 }, ifMatch: fetched.headers.etag });
    expect([updated.body.revision, updated.headers.etag, updated.body.data]).toEqual(['1', '1', { n: 1 }]);

    // The ETag read before the update is stale now: Map Item revision mismatch, not Document's 54103.
    const stale = await rejection(itemsOf(map)('k').update({ data: { n: 2 }, ifMatch: fetched.headers.etag }));
    expect([stale.status, stale.code]).toEqual([412, 54205]);
    const staleDelete = await rejection(itemsOf(map)('k').remove({ ifMatch: fetched.headers.etag }));
    expect([staleDelete.status, staleDelete.code]).toEqual([412, 54205]);
    expect(await itemsOf(map)('k').remove({ ifMatch: updated.headers.etag })).toBe(true);
  });

  it('refuses Data that is not JSON with 400 / 54008 and a create without Data with 400 / 54206', async () => {
    const map = uniqueName();
    await rest.sync.v1.services(creds.serviceSid).syncMaps.create({ uniqueName: map });
    // The library sends a string `data` as it is.
    const notJson = await rejection(itemsOf(map).create({ key: 'k', data: '{not json' }));
    expect([notJson.status, notJson.code]).toEqual([400, 54008]);
    await itemsOf(map).create({ key: 'k', data: { n: 0 } });
    const badUpdate = await rejection(itemsOf(map)('k').update({ data: '{not json' }));
    expect([badUpdate.status, badUpdate.code]).toEqual([400, 54008]);

    // The library refuses to send a create without data; Twilio's answer to one is 54206.
    const path = `/v1/Services/${creds.serviceSid}/Maps/${map}/Items`;
    expect(await rawPost(path, { Key: 'no-data' })).toEqual({ status: 400, code: 54206 });
    // An update may leave Data out (only the TTL changes).
    const ttlOnly = await itemsOf(map)('k').update({ itemTtl: 600 });
    expect(ttlOnly.data).toEqual({ n: 0 });
  });
});
