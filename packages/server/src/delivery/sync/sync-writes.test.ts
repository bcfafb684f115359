import { randomBytes } from 'node:crypto';
import { envelopeSha256, objectKeyOf, syncMapOf } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceRepository } from '../../adapters/redis/devices.js';
import { createKeys } from '../../adapters/redis/keys.js';
import { PointerLedger } from '../../adapters/redis/pointers.js';
import { startServer, startWorker, type RunningServer } from '../../server.js';
import {
  FakeObjectStore,
  FakeSyncAdmin,
  FakeTokenIssuer,
  TEST_REDIS_URL,
  deleteKeys,
  eventually,
  randomKeyPrefix,
  testConfig,
} from '../../testing/fakes.js';
import { apiCaller } from '../../testing/http.js';

/**
 * The Sync cost of the design (docs/delivery.md, "Sync writes and subscriptions"): every Sync
 * REST call the server makes for a group of 100 participants and one file sent to it, counted at
 * the SyncAdmin port. Members never write Sync.
 */
class CountingSyncAdmin extends FakeSyncAdmin {
  readonly calls = { ensureMap: 0, setMapPermissions: 0, setMapItem: 0, removeMapItem: 0 };

  override async ensureMap(name: string): Promise<'created' | 'exists'> {
    this.calls.ensureMap += 1;
    return super.ensureMap(name);
  }
  override async setMapPermissions(...args: Parameters<FakeSyncAdmin['setMapPermissions']>): Promise<void> {
    this.calls.setMapPermissions += 1;
    return super.setMapPermissions(...args);
  }
  override async setMapItem(...args: Parameters<FakeSyncAdmin['setMapItem']>): Promise<'written' | 'map-missing'> {
    this.calls.setMapItem += 1;
    return super.setMapItem(...args);
  }
  override async removeMapItem(map: string, key: string): Promise<'removed' | 'absent'> {
    this.calls.removeMapItem += 1;
    return super.removeMapItem(map, key);
  }
}

const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const syncAdmin = new CountingSyncAdmin();
const objectStore = new FakeObjectStore();
const deps = {
  objectStore,
  syncAdmin,
  virgilTokens: new FakeTokenIssuer('virgil'),
  syncTokens: new FakeTokenIssuer('sync'),
};
let server: RunningServer;
let redis: Redis;
const { ok, enroll } = apiCaller(() => server.url);
const PASSWORD = 'correct horse battery';
const ENVELOPE = Buffer.from('sealed').toString('base64');
const MEMBERS = 99; // + the owner: E3Kit's maximum group of 100

beforeAll(async () => {
  server = await startServer(testConfig(prefix), deps);
  redis = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  await server?.close();
  await redis?.quit();
  await deleteKeys(prefix);
});

describe('Sync writes of the server-publishes design', () => {
  it('a group of 100: 1 map + 100 read-only grants; a send: 1 item write (+1 per retry), 1 delete after the last ack', async () => {
    await ok({ method: 'POST', path: '/v1/auth/register', body: { identity: 'owner', password: PASSWORD } }, 201);
    const token = await enroll('owner', PASSWORD, 'owner-device-1');
    // Members are registered identities with one device each (enrolled directly: no sessions needed).
    const devices = new DeviceRepository(redis, keys);
    const members = Array.from({ length: MEMBERS }, (_, i) => `member-${i}`);
    for (const m of members) await devices.register(m, `${m}-device`, new Date());

    const groupId = randomBytes(16).toString('hex');
    await ok({ method: 'POST', path: '/v1/groups', token, body: { groupId, members } }, 201);
    expect(syncAdmin.calls).toEqual({ ensureMap: 1, setMapPermissions: 100, setMapItem: 0, removeMapItem: 0 });

    const objectId = randomBytes(16).toString('hex');
    objectStore.put(objectKeyOf(groupId, objectId), 10);
    const pointerId = randomBytes(16).toString('hex');
    const register = { method: 'POST', path: `/v1/groups/${groupId}/pointers`, token };
    const body = { pointerId, objectId, size: 10, envelope: ENVELOPE };
    await ok({ ...register, body }, 201);
    expect(syncAdmin.calls.setMapItem).toBe(1);
    await ok({ ...register, body }, 200); // the sender's retry re-publishes while pending
    expect(syncAdmin.calls.setMapItem).toBe(2);

    // All 99 receiving endpoints acknowledge (through the ledger: the route adds nothing for Sync).
    const ledger = new PointerLedger(redis, keys);
    const receipt = { objectId, envelopeSha256: envelopeSha256(ENVELOPE), signature: 'c2ln' };
    for (const m of members) await ledger.acknowledge(pointerId, { identity: m, deviceId: `${m}-device` }, receipt);
    const worker = await startWorker(testConfig(prefix), deps);
    try {
      await eventually(async () => ((await ledger.stateOf(pointerId)) === 'purged' ? true : undefined));
    } finally {
      await worker.close();
    }
    expect(syncAdmin.calls).toEqual({ ensureMap: 1, setMapPermissions: 100, setMapItem: 2, removeMapItem: 1 });
    expect(syncAdmin.items.has(`${syncMapOf(groupId)}/${pointerId}`)).toBe(false);
  });
});
