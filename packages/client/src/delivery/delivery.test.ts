import { describe, expect, it } from 'vitest';
import { ConduitError } from '@conduit/shared';
import type { MemberDeviceList, PointerStatus } from '@conduit/shared';
import type { ICard } from 'virgil-sdk';
import { SenderDevices } from './sender-devices.js';
import { verifyDelivery } from './status.js';

const GROUP = 'ab'.repeat(16);
const alice = { identity: 'alice', deviceId: 'alice-laptop' };

describe('SenderDevices', () => {
  const at = (iso: string) => new Date(iso).toISOString();
  const listing = (devices: MemberDeviceList['devices']) => {
    let calls = 0;
    const api = {
      memberDevices: async (): Promise<MemberDeviceList> => {
        calls += 1;
        return { identity: 'alice', devices };
      },
    };
    return { api, calls: () => calls };
  };

  it('accepts an active device, once per session lookup', async () => {
    const { api, calls } = listing([{ deviceId: 'alice-laptop', createdAt: at('2026-01-01') }]);
    const devices = new SenderDevices(api);
    await devices.check(GROUP, alice, at('2026-02-01'));
    await devices.check(GROUP, alice, at('2026-02-02'));
    expect(calls()).toBe(1);
  });

  it("refuses a device that is not the sender's (after one refresh)", async () => {
    const { api, calls } = listing([{ deviceId: 'alice-phone', createdAt: at('2026-01-01') }]);
    await expect(new SenderDevices(api).check(GROUP, alice, at('2026-02-01'))).rejects.toMatchObject({
      code: 'SENDER_DEVICE_UNKNOWN',
    });
    expect(calls()).toBe(2);
  });

  it('refuses a device revoked at or before the pointer was created, not one revoked later', async () => {
    const revokedAt = at('2026-03-01T00:00:00Z');
    const { api } = listing([{ deviceId: 'alice-laptop', createdAt: at('2026-01-01'), revokedAt }]);
    const devices = new SenderDevices(api);
    await expect(devices.check(GROUP, alice, revokedAt)).rejects.toMatchObject({ code: 'SENDER_DEVICE_REVOKED' });
    await expect(devices.check(GROUP, alice, at('2026-04-01'))).rejects.toMatchObject({
      code: 'SENDER_DEVICE_REVOKED',
    });
    await devices.check(GROUP, alice, at('2026-02-28T23:59:59Z')); // sent while the device was valid
  });

  it('treats a sender that is no longer a member as having no devices', async () => {
    const api = {
      memberDevices: async (): Promise<MemberDeviceList> => {
        throw new ConduitError('NOT_FOUND');
      },
    };
    await expect(new SenderDevices(api).check(GROUP, alice, at('2026-02-01'))).rejects.toMatchObject({
      code: 'SENDER_DEVICE_UNKNOWN',
    });
  });
});

describe('verifyDelivery', () => {
  const bob = { identity: 'bob', deviceId: 'bob-phone' };
  const carol = { identity: 'carol', deviceId: 'carol-desk' };
  const dave = { identity: 'dave', deviceId: 'dave-desk' };
  const erin = { identity: 'erin', deviceId: 'erin-desk' };
  const status: PointerStatus = {
    pointerId: 'cd'.repeat(16),
    groupId: GROUP,
    sender: alice,
    state: 'pending',
    expected: [bob, carol, dave, erin],
    acknowledged: [bob, carol, dave],
    dropped: [erin],
    createdAt: new Date().toISOString(),
    objectId: 'ef'.repeat(16),
    envelopeSha256: '01'.repeat(32),
    // bob's receipt is genuine, carol's forged, dave has none although "acknowledged".
    receipts: [
      { ...bob, signature: 'good', at: new Date().toISOString() },
      { ...carol, signature: 'forged', at: new Date().toISOString() },
    ],
    anomalies: [],
  };

  it('reports verified, invalid-signature (forged or missing), pending and dropped per endpoint', async () => {
    const seen: unknown[] = [];
    const result = await verifyDelivery(
      status,
      async (identity) => ({ identity }) as unknown as ICard,
      (card, statement, signature) => {
        seen.push(statement);
        return signature === 'good' && card.identity === statement.receiver.identity;
      },
    );
    expect(result.delivery.map((d) => [d.identity, d.receipt])).toEqual([
      ['bob', 'verified'],
      ['carol', 'invalid-signature'],
      ['dave', 'invalid-signature'],
      ['erin', 'dropped'],
    ]);
    // The statement is rebuilt from the ledger's binding, naming the receiver.
    expect(seen[0]).toEqual({
      pointerId: status.pointerId,
      groupId: GROUP,
      objectId: status.objectId,
      envelopeSha256: status.envelopeSha256,
      sender: alice,
      receiver: bob,
    });
  });

  it('counts a receipt whose receiver has no card as not verified', async () => {
    const result = await verifyDelivery(
      status,
      async () => {
        throw new ConduitError('IDENTITY_NOT_FOUND');
      },
      () => true,
    );
    expect(result.delivery[0]?.receipt).toBe('invalid-signature');
  });
});
