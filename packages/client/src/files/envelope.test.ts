import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ciphertextSize, EnvelopeV3, padme } from '@conduit/shared';
import type { PointerV1 } from '@conduit/shared';
import { openEnvelope, sealEnvelope } from './envelope.js';
import type { DecryptEnvelope, EncryptEnvelope } from './envelope.js';

/** Envelope v3: what it binds, and what a receiver refuses (docs/format.md section 10). */
const groupKey = randomBytes(32);
const encrypt: EncryptEnvelope = async (p) => {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', groupKey, iv);
  return Buffer.concat([iv, c.update(p), c.final(), c.getAuthTag()]);
};
const decrypt: DecryptEnvelope = async (s) => {
  const d = createDecipheriv('aes-256-gcm', groupKey, s.subarray(0, 12));
  d.setAuthTag(s.subarray(s.length - 16));
  return Buffer.concat([d.update(s.subarray(12, s.length - 16)), d.final()]);
};
const hex = () => randomBytes(16).toString('hex');
const SEGMENT = 256 * 1024;

async function sealed(): Promise<{ pointer: PointerV1; json: Record<string, unknown> }> {
  const sender = { identity: 'alice', deviceId: 'alice-laptop' };
  const input = {
    sender,
    groupId: hex(),
    pointerId: hex(),
    objectId: hex(),
    contentKey: randomBytes(32),
    header: randomBytes(42),
    plainLength: 1000,
    paddedLength: padme(1000),
    segmentSize: SEGMENT,
    file: { name: 'a.txt', type: 'text/plain' },
  };
  const envelope = await sealEnvelope(input, encrypt);
  const json = JSON.parse((await decrypt(Buffer.from(envelope, 'base64'))).toString()) as Record<string, unknown>;
  const pointer: PointerV1 = {
    v: 1,
    kind: 'file',
    id: input.pointerId,
    groupId: input.groupId,
    sender,
    objectId: input.objectId,
    size: ciphertextSize(input.paddedLength, SEGMENT),
    envelope,
    createdAt: new Date().toISOString(),
  };
  return { pointer, json };
}

const reseal = async (json: Record<string, unknown>): Promise<string> =>
  (await encrypt(Buffer.from(JSON.stringify(json)))).toString('base64');

describe('envelope v3', () => {
  it('binds sender identity and device, group, pointer, object, lengths and the header digest', async () => {
    const { pointer, json } = await sealed();
    expect(EnvelopeV3.safeParse(json).success).toBe(true);
    expect(json).toMatchObject({
      v: 3,
      container: 1,
      sender: pointer.sender,
      groupId: pointer.groupId,
      pointerId: pointer.id,
      objectId: pointer.objectId,
      plainLength: 1000,
      segmentSize: SEGMENT,
    });
    expect(json.headerSha256).toMatch(/^[0-9a-f]{64}$/);
    const opened = await openEnvelope(pointer, decrypt);
    expect(opened.sender).toEqual(pointer.sender);
  });

  it('refuses older versions (v2: no sender device, no group) with FORMAT_UNSUPPORTED', async () => {
    const { pointer, json } = await sealed();
    const v2: Record<string, unknown> = { ...json, v: 2 };
    delete v2.sender;
    delete v2.groupId;
    await expect(openEnvelope({ ...pointer, envelope: await reseal(v2) }, decrypt)).rejects.toMatchObject({
      code: 'FORMAT_UNSUPPORTED',
    });
  });

  it('refuses a pointer whose sender device, group, id or object differs from the signed ones', async () => {
    const { pointer } = await sealed();
    const otherDevice = { ...pointer, sender: { identity: 'alice', deviceId: 'alice-phone' } };
    await expect(openEnvelope(otherDevice, decrypt)).rejects.toMatchObject({ code: 'SENDER_MISMATCH' });
    const otherIdentity = { ...pointer, sender: { identity: 'mallory', deviceId: 'alice-laptop' } };
    await expect(openEnvelope(otherIdentity, decrypt)).rejects.toMatchObject({ code: 'SENDER_MISMATCH' });
    for (const moved of [{ groupId: hex() }, { id: hex() }, { objectId: hex() }, { size: pointer.size + 16 }]) {
      await expect(openEnvelope({ ...pointer, ...moved }, decrypt)).rejects.toMatchObject({ code: 'INTEGRITY' });
    }
  });

  it('refuses unknown fields and a missing device (strict schema)', async () => {
    const { pointer, json } = await sealed();
    const extra = await reseal({ ...json, note: 'x' });
    await expect(openEnvelope({ ...pointer, envelope: extra }, decrypt)).rejects.toMatchObject({ code: 'INTEGRITY' });
    const noDevice = await reseal({ ...json, sender: { identity: 'alice' } });
    await expect(openEnvelope({ ...pointer, envelope: noDevice }, decrypt)).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
  });
});
