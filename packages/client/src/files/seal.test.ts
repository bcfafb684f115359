import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '@conduit/shared';
import type { PointerV1 } from '@conduit/shared';
import { openFile, sealFile, sha256Hex } from './seal.js';
import type { DecryptEnvelope, EncryptEnvelope } from './seal.js';

/**
 * A fake of the E3Kit group cipher (the port seal/open use): authenticated encryption under one
 * group key, so a tampered or foreign envelope fails to open, as it would with E3Kit.
 */
function fakeGroup() {
  const groupKey = randomBytes(32);
  const encrypt: EncryptEnvelope = async (plaintext) => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', groupKey, iv);
    return Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
  };
  const decrypt: DecryptEnvelope = async (sealed) => {
    const d = createDecipheriv('aes-256-gcm', groupKey, sealed.subarray(0, 12));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
  };
  return { encrypt, decrypt };
}

const hex = () => randomBytes(16).toString('hex');
const plaintext = Buffer.from('Patient: Jane Doe. Diagnosis: confidential. '.repeat(200));

async function sealed(group = fakeGroup()) {
  const pointerId = hex();
  const objectId = hex();
  const file = { name: 'note.txt', type: 'text/plain', size: plaintext.length };
  const out = await sealFile({ pointerId, objectId, plaintext: Buffer.from(plaintext), file }, group.encrypt);
  const pointer: PointerV1 = {
    v: 1,
    kind: 'file',
    id: pointerId,
    groupId: hex(),
    sender: { identity: 'alice', deviceId: 'dev-alice-1' },
    objectId,
    size: out.object.length,
    envelope: out.envelope,
    createdAt: new Date().toISOString(),
  };
  return { group, pointer, object: out.object };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConduitError);
  return (err as ConduitError).code;
}

describe('sealFile / openFile', () => {
  it('round-trips, and the stored object holds no plaintext', async () => {
    const { group, pointer, object } = await sealed();
    expect(object.length).toBe(plaintext.length + 16);
    expect(object.includes(Buffer.from('Jane Doe'))).toBe(false);
    const opened = await openFile(pointer, object, group.decrypt);
    expect(opened.plaintext.equals(plaintext)).toBe(true);
    expect(opened.file).toEqual({ name: 'note.txt', type: 'text/plain', size: plaintext.length });
  });

  it('rejects a flipped ciphertext byte', async () => {
    const { group, pointer, object } = await sealed();
    object[100] = object[100]! ^ 0x01;
    expect(await codeOf(openFile(pointer, object, group.decrypt))).toBe('INTEGRITY');
  });

  it('rejects a pointer naming another object', async () => {
    const { group, pointer, object } = await sealed();
    expect(await codeOf(openFile({ ...pointer, objectId: hex() }, object, group.decrypt))).toBe('INTEGRITY');
  });

  it('rejects an envelope replayed under another pointer id', async () => {
    const { group, pointer, object } = await sealed();
    expect(await codeOf(openFile({ ...pointer, id: hex() }, object, group.decrypt))).toBe('INTEGRITY');
  });

  it('rejects a truncated object', async () => {
    const { group, pointer, object } = await sealed();
    const short = object.subarray(0, object.length - 1);
    expect(await codeOf(openFile({ ...pointer, size: short.length }, short, group.decrypt))).toBe('INTEGRITY');
  });

  it('checks the GCM tag even when the hash in the envelope matches the tampered bytes', async () => {
    const { group, pointer, object } = await sealed();
    const envelope = JSON.parse((await group.decrypt(Buffer.from(pointer.envelope, 'base64'))).toString());
    object[0] = object[0]! ^ 0x80;
    envelope.ciphertextSha256 = sha256Hex(object);
    const forged = (await group.encrypt(Buffer.from(JSON.stringify(envelope)))).toString('base64');
    expect(await codeOf(openFile({ ...pointer, envelope: forged }, object, group.decrypt))).toBe('INTEGRITY');
  });

  it('rejects an envelope sealed for another group', async () => {
    const { pointer, object } = await sealed();
    expect(await codeOf(openFile(pointer, object, fakeGroup().decrypt))).toBe('INTEGRITY');
  });

  it('passes on the cipher’s verdict about the sender', async () => {
    const { pointer, object } = await sealed();
    const wrongSender: DecryptEnvelope = async () => {
      throw new ConduitError('SENDER_MISMATCH');
    };
    expect(await codeOf(openFile(pointer, object, wrongSender))).toBe('SENDER_MISMATCH');
  });

  it('refuses other envelope versions', async () => {
    const { group, pointer, object } = await sealed();
    const envelope = JSON.parse((await group.decrypt(Buffer.from(pointer.envelope, 'base64'))).toString());
    const v2 = (await group.encrypt(Buffer.from(JSON.stringify({ ...envelope, v: 2 })))).toString('base64');
    expect(await codeOf(openFile({ ...pointer, envelope: v2 }, object, group.decrypt))).toBe('FORMAT_UNSUPPORTED');
  });
});
