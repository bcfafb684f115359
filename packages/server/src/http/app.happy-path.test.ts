import { objectKeyOf, syncMapOf } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { startWorker, type RunningWorker } from '../server.js';
import {
  ENVELOPE,
  PASSWORD,
  devices,
  hex,
  pointerBody,
  receiptFor,
  useAppFixture,
  users,
} from '../testing/app-fixture.js';
import { eventually, testConfig } from '../testing/fakes.js';
import { expectError } from '../testing/http.js';

// One client's whole journey through the API, and the group and pointer invariants along it.
const fx = useAppFixture();
const { call, ok, tokens, groupId, objectStore, syncAdmin, deps, prefix } = fx;

describe('happy path', () => {
  it('register, login, device, tokens, group, upload, download, pointer, ack, status, purge', async () => {
    const dave = `dave-${hex().slice(0, 8)}`;
    const daveDevice = 'dave-device-1';
    const daveLogin = (password: string) => ({
      method: 'POST',
      path: '/v1/auth/login',
      body: { identity: dave, password, deviceId: daveDevice },
    });
    expect(
      await ok({ method: 'POST', path: '/v1/auth/register', body: { identity: dave, password: PASSWORD } }, 201),
    ).toEqual({
      identity: dave,
    });
    const session = await ok<{ token: string; identity: string; expiresAt: string }>(daveLogin(PASSWORD));
    expect(session.identity).toBe(dave);
    const hours = (Date.parse(session.expiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(11.9);
    expect(hours).toBeLessThanOrEqual(12);
    const newPassword = 'a brand new password';
    await ok(
      { method: 'POST', path: '/v1/auth/password', body: { identity: dave, password: PASSWORD, newPassword } },
      204,
    );
    const refused = await call(daveLogin(PASSWORD));
    expect(refused.status).toBe(401);
    // The password change ended the session opened before it.
    expect((await call({ method: 'PUT', path: `/v1/devices/${daveDevice}`, token: session.token })).status).toBe(401);
    const token = (await ok<{ token: string }>(daveLogin(newPassword))).token;

    const device = await ok<{ createdAt: string }>({ method: 'PUT', path: `/v1/devices/${daveDevice}`, token });
    expect(device).toMatchObject({ identity: dave, deviceId: daveDevice });
    // Idempotent: same createdAt the second time.
    expect(await ok({ method: 'PUT', path: `/v1/devices/${daveDevice}`, token })).toEqual(device);

    expect(await ok({ path: '/v1/tokens/virgil', token })).toMatchObject({ token: `virgil-token-for-${dave}` });
    expect(await ok({ path: '/v1/tokens/sync', token })).toMatchObject({
      token: `sync-token-for-${dave}`,
      identity: dave,
    });

    // dave owns a group with alice; alice's two devices are recipients of dave's pointer.
    const g = hex();
    const view = await ok(
      { method: 'POST', path: '/v1/groups', token, body: { groupId: g, members: [users.alice, users.alice] } },
      201,
    );
    expect(view).toMatchObject({ groupId: g, owner: dave, members: [users.alice], syncMap: syncMapOf(g) });
    expect(syncAdmin.maps.has(syncMapOf(g))).toBe(true);
    // Read-only for everyone, the owner included: only the server writes the map.
    const readOnly = { read: true, write: false, manage: false };
    expect(syncAdmin.permissions.get(`${syncMapOf(g)}/${dave}`)).toEqual(readOnly);
    expect(syncAdmin.permissions.get(`${syncMapOf(g)}/${users.alice}`)).toEqual(readOnly);
    expect(await ok({ path: `/v1/groups/${g}`, token: tokens.alice })).toEqual(view);

    const put = await ok<{ objectId: string; method: string; headers: Record<string, string> }>(
      { method: 'POST', path: `/v1/groups/${g}/objects`, token, body: { size: 1234 } },
      201,
    );
    expect(put.method).toBe('PUT');
    expect(put.headers).toEqual({ 'content-length': '1234' });
    expect(objectStore.presigned.at(-1)).toEqual({ method: 'PUT', key: objectKeyOf(g, put.objectId), size: 1234 });
    objectStore.put(objectKeyOf(g, put.objectId), 1234);
    const get = await ok({ path: `/v1/groups/${g}/objects/${put.objectId}`, token: tokens.alice });
    expect(get).toMatchObject({ objectId: put.objectId, method: 'GET' });

    const p = hex();
    const registration = await ok(
      {
        method: 'POST',
        path: `/v1/groups/${g}/pointers`,
        token,
        device: daveDevice,
        body: pointerBody(p, put.objectId, 1234),
      },
      201,
    );
    expect(registration).toEqual({
      pointerId: p,
      groupId: g,
      syncMap: syncMapOf(g),
      itemKey: p,
      itemTtlSeconds: 3600,
      expected: [
        { identity: users.alice, deviceId: devices.alice1 },
        { identity: users.alice, deviceId: devices.alice2 },
      ],
      state: 'pending',
      createdAt: expect.any(String),
    });
    // The server published the item, with the sender taken from the session.
    expect(syncAdmin.items.get(`${syncMapOf(g)}/${p}`)?.data).toMatchObject({
      v: 1,
      kind: 'file',
      id: p,
      sender: { identity: dave, deviceId: daveDevice },
      objectId: put.objectId,
      size: 1234,
      envelope: ENVELOPE,
    });
    // The sender retrying (a crash between registering and publishing) gets the same registration.
    const register = () =>
      call({
        method: 'POST',
        path: `/v1/groups/${g}/pointers`,
        token,
        device: daveDevice,
        body: pointerBody(p, put.objectId, 1234),
      });
    const retried = await register();
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual(registration);

    // Each of alice's devices acknowledges with its own session (the header may repeat its device).
    const ack = (token: string, device?: string) =>
      ok({ method: 'POST', path: `/v1/pointers/${p}/ack`, token, device, body: receiptFor(put.objectId) });
    expect(await ack(tokens.alice, devices.alice1)).toEqual({ pointerId: p, remaining: 1, complete: false });
    expect(await ack(tokens.alice)).toEqual({ pointerId: p, remaining: 1, complete: false });
    const pending = await ok<{ state: string; acknowledged: unknown[] }>({ path: `/v1/pointers/${p}`, token });
    expect(pending).toMatchObject({ state: 'pending', sender: { identity: dave, deviceId: daveDevice } });
    expect(pending.acknowledged).toEqual([{ identity: users.alice, deviceId: devices.alice1 }]);
    expect(await ack(tokens.alice2)).toEqual({ pointerId: p, remaining: 0, complete: true });
    expect(await ok({ path: `/v1/pointers/${p}`, token })).toMatchObject({ state: 'purging' });

    // The worker drains the outbox and deletes the Sync item.
    let worker: RunningWorker | undefined;
    try {
      worker = await startWorker(testConfig(prefix), deps);
      const done = await eventually(async () => {
        const status = await ok<{ state: string; purgedAt?: string }>({ path: `/v1/pointers/${p}`, token });
        return status.state === 'purged' ? status : undefined;
      });
      expect(done.purgedAt).toBeDefined();
      expect(syncAdmin.removeCalls).toContainEqual({ map: syncMapOf(g), key: p });
      // A retry after the purge says so, and the sender does not publish again.
      expect((await register()).body).toMatchObject({ pointerId: p, state: 'purged' });
    } finally {
      await worker?.close();
    }
  });

  it('a Sync failure while publishing is a 503; the sender retrying publishes the same pointer', async () => {
    const p = hex();
    const register = () =>
      call({
        method: 'POST',
        path: `/v1/groups/${groupId}/pointers`,
        token: tokens.alice,
        device: devices.alice1,
        body: pointerBody(p, fx.objectId),
      });
    syncAdmin.failSetItem = true;
    try {
      const failed = await register();
      expect(failed.status).toBe(503);
      expectError(failed.body, 'DEPENDENCY_UNAVAILABLE');
    } finally {
      syncAdmin.failSetItem = false;
    }
    expect(syncAdmin.items.has(`${syncMapOf(groupId)}/${p}`)).toBe(false);
    const retried = await register();
    expect(retried.status).toBe(200); // registered by the first attempt
    expect(syncAdmin.items.get(`${syncMapOf(groupId)}/${p}`)?.data).toMatchObject({ id: p, envelope: ENVELOPE });
    // Another binding under the same id is refused, and the item is not touched.
    const other = await call({
      method: 'POST',
      path: `/v1/groups/${groupId}/pointers`,
      token: tokens.alice,
      device: devices.alice1,
      body: { ...pointerBody(p, fx.objectId), envelope: Buffer.from('another').toString('base64') },
    });
    expect(other.status).toBe(409);
    expectError(other.body, 'POINTER_EXISTS');
    expect(syncAdmin.items.get(`${syncMapOf(groupId)}/${p}`)?.data).toMatchObject({ envelope: ENVELOPE });
  });

  it('GET /healthz answers without authentication', async () => {
    expect(await ok({ path: '/healthz' })).toEqual({ status: 'ok' });
  });

  it('does not advertise the framework and marks responses uncacheable', async () => {
    const res = await call({ path: '/healthz' });
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses a second group with the same id from another owner', async () => {
    const res = await call({ method: 'POST', path: '/v1/groups', token: tokens.carol, body: { groupId, members: [] } });
    expect(res.status).toBe(409);
    expectError(res.body, 'GROUP_EXISTS');
  });
});
