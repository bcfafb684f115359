/** The emulator's REST API authenticates as Twilio's: Basic auth, the account's token or one of its API keys. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncCredentials, startSyncEmulator, type SyncEmulator } from './index.js';

const creds = createSyncCredentials();
const other = createSyncCredentials();
let emu: SyncEmulator;

beforeAll(async () => {
  emu = await startSyncEmulator({ ...creds, aclEnabled: true });
});
afterAll(async () => {
  await emu.close();
});

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function listMaps(authorization: string | undefined, serviceSid = creds.serviceSid) {
  const res = await fetch(`${emu.restUrl}/v1/Services/${serviceSid}/Maps`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: (await res.json()) as unknown };
}

describe('Sync emulator REST authentication', () => {
  it.each([
    ['the account SID and its auth token', basic(creds.accountSid, creds.authToken)],
    ['an API key of the account and its secret', basic(creds.apiKeySid, creds.apiKeySecret)],
  ])('accepts %s', async (_name, authorization) => {
    expect((await listMaps(authorization)).status).toBe(200);
  });

  it.each([
    ['no credentials', undefined],
    ['the API key with the auth token', basic(creds.apiKeySid, creds.authToken)],
    ['the account SID with the key secret', basic(creds.accountSid, creds.apiKeySecret)],
    ["another account's API key", basic(other.apiKeySid, other.apiKeySecret)],
    ['the API key with a wrong secret', basic(creds.apiKeySid, `${creds.apiKeySecret}0`)],
    ['not Basic', `Bearer ${creds.apiKeySecret}`],
    ['no colon', `Basic ${Buffer.from(creds.apiKeySid).toString('base64')}`],
  ])("refuses %s with Twilio's 401 / 20003", async (_name, authorization) => {
    expect(await listMaps(authorization)).toEqual({
      status: 401,
      challenge: 'Basic realm="Twilio API"',
      body: {
        code: 20003,
        message: 'Authenticate',
        more_info: 'https://www.twilio.com/docs/errors/20003',
        status: 401,
      },
    });
  });

  it("answers a valid key naming another account's service as not found (20404)", async () => {
    const res = await listMaps(basic(creds.apiKeySid, creds.apiKeySecret), other.serviceSid);
    expect(res).toMatchObject({ status: 404, body: { code: 20404, status: 404 } });
  });
});
