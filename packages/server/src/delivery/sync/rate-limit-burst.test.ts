import { createSyncCredentials, startSyncEmulator, type SyncEmulator } from '@conduit/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwilioSyncAdmin } from '../../adapters/twilio/twilio-sync-admin.js';
import { retryRateLimited } from './rate-limit-retry.js';

// Issue 13: a burst of writes into one map meets Twilio's write limit (the emulator's default, 20/s
// with a burst of 20: 429 / 54009 with Retry-After), and the server's publish retry gets every
// write through within its budget.
describe('publishing a burst into one Sync map on the default write limit', () => {
  let emu: SyncEmulator;
  let admin: TwilioSyncAdmin;

  beforeAll(async () => {
    const creds = createSyncCredentials();
    emu = await startSyncEmulator(creds);
    admin = new TwilioSyncAdmin({ ...creds, restBaseUrl: emu.restUrl, timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('meets 429s, and the retry writes every item', async () => {
    const map = 'g_burst';
    await admin.ensureMap(map);
    const refusedBefore = emu.faults.refusedWrites();
    const keys = Array.from({ length: 45 }, (_, i) => `p${String(i).padStart(2, '0')}`);
    const outcomes = await Promise.all(
      keys.map((key) => retryRateLimited(() => admin.setMapItem(map, key, { key }, 600))),
    );
    expect(outcomes.every((o) => o === 'written')).toBe(true);
    expect(emu.faults.refusedWrites() - refusedBefore).toBeGreaterThan(0);
    const written: string[] = [];
    for await (const page of admin.listMapItems(map)) written.push(...page.map((item) => item.key));
    expect(written.sort()).toEqual(keys);
  });
});
