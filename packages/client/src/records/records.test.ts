import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ciphertextSize, ConduitError, inlineValue, padme } from '@conduit/shared';
import type { RecordEnvelopeV2, VersionClaim } from '@conduit/shared';
import { openRecordEnvelope, sealRecordEnvelope } from './envelope.js';
import { FreshLoader } from './fresh-loader.js';
import { checkRecordKey, deriveRecordId, MAX_RECORD_KEY_BYTES } from './record-id.js';
import { SqliteReplica } from '../platform/node/sqlite-replica.js';
import type { Replica } from './replica.js';
import type { RecordEntry } from './replica.js';

const hex = () => randomBytes(16).toString('hex');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-records-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('record id derivation', () => {
  const groupId = hex();

  it('is SHA-256 over the domain, group and key, truncated to 16 bytes', () => {
    const expected = createHash('sha256')
      .update(
        Buffer.concat([
          Buffer.from('conduit/record/v1\0'),
          Buffer.from(groupId),
          Buffer.from('\0'),
          Buffer.from('prefs/theme'),
        ]),
      )
      .digest()
      .subarray(0, 16)
      .toString('hex');
    expect(deriveRecordId(groupId, 'prefs/theme')).toBe(expected);
    expect(deriveRecordId(groupId, 'prefs/theme')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('separates keys and groups', () => {
    expect(deriveRecordId(groupId, 'a')).not.toBe(deriveRecordId(groupId, 'b'));
    expect(deriveRecordId(groupId, 'a')).not.toBe(deriveRecordId(hex(), 'a'));
  });

  it('rejects empty, oversized and control-character keys', () => {
    for (const bad of ['', 'x'.repeat(MAX_RECORD_KEY_BYTES + 1), 'a\nb', 'esc\u001b[31m', '\ud800']) {
      expect(() => checkRecordKey(bad)).toThrow(ConduitError);
    }
    expect(checkRecordKey('ключ/ü 1')).toBe('ключ/ü 1');
  });
});

describe('replica', () => {
  const groupId = hex();
  const sender = { identity: 'alice', deviceId: 'device-aaaa' };
  const open = (name: string, key = Buffer.alloc(32, 7)) => SqliteReplica.open(join(dir, name), Buffer.from(key));

  /** 6 records, 40 versions: each record's versions chain through their parents, seqs 1..40. */
  function feed(): RecordEntry[] {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    const heads = new Map<string, string | null>();
    return Array.from({ length: 40 }, (_, i) => {
      const key = keys[(i * 7) % keys.length] as string;
      const versionId = hex();
      const parentVersionId = heads.get(key) ?? null;
      heads.set(key, versionId);
      const deleted = i % 11 === 10;
      return {
        key,
        recordId: deriveRecordId(groupId, key),
        versionId,
        parentVersionId,
        pointerId: hex(),
        seq: i + 1,
        deleted,
        ...(deleted ? {} : { value: { n: i, key } }),
        sender,
        createdAt: new Date(1_700_000_000_000 + i).toISOString(),
      };
    });
  }

  const snapshot = (r: Replica) => ({
    heads: r.heads(groupId),
    histories: ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => r.history(groupId, deriveRecordId(groupId, k))),
    cursor: r.cursor(groupId),
  });

  it('converges whatever the order and however often versions are applied', () => {
    const versions = feed();
    const reference = open('ref.sqlite');
    reference.apply(groupId, versions);
    const expected = snapshot(reference);
    expect(expected.cursor).toBe(40);
    expect(expected.heads).toHaveLength(6);
    reference.close();

    for (let run = 0; run < 5; run++) {
      const replica = open(`shuffled-${run}.sqlite`);
      // Every version once or twice, shuffled, in batches of random size (live pointers and pages).
      const arrivals = shuffle([...versions, ...versions.filter(() => Math.random() < 0.5)]);
      while (arrivals.length > 0) replica.apply(groupId, arrivals.splice(0, 1 + Math.floor(Math.random() * 5)));
      expect(snapshot(replica)).toEqual(expected);
      // And once more, all of it: nothing changes, nothing is reported as changed.
      expect(replica.apply(groupId, versions)).toEqual([]);
      expect(snapshot(replica)).toEqual(expected);
      replica.close();
    }
  });

  it('advances the cursor only over contiguous seqs, or up to what a feed page covers', () => {
    const versions = feed();
    const replica = open('cursor.sqlite');
    replica.apply(groupId, [versions[0], versions[1], versions[3]] as RecordEntry[]);
    expect(replica.cursor(groupId)).toBe(2);
    replica.apply(groupId, [versions[2]] as RecordEntry[]);
    expect(replica.cursor(groupId)).toBe(4);
    replica.apply(groupId, [versions[9]] as RecordEntry[], 9);
    expect(replica.cursor(groupId)).toBe(10);
    replica.close();
  });

  it('reports a head change only when a version is newer than the head', () => {
    const [v1, v2] = feed().filter((v) => v.key === 'a') as [RecordEntry, RecordEntry];
    const replica = open('heads.sqlite');
    expect(replica.apply(groupId, [v2]).map((e) => e.versionId)).toEqual([v2.versionId]);
    expect(replica.apply(groupId, [v1])).toEqual([]);
    expect(replica.head(groupId, v1.recordId)?.versionId).toBe(v2.versionId);
    replica.close();
  });

  it('refuses one version at two seqs and two versions at one seq', () => {
    const [v1, v2] = feed() as [RecordEntry, RecordEntry];
    const replica = open('conflict.sqlite');
    replica.apply(groupId, [v1]);
    expect(() => replica.apply(groupId, [{ ...v1, seq: 99 }])).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    expect(() => replica.apply(groupId, [{ ...v2, seq: v1.seq }])).toThrow(
      expect.objectContaining({ code: 'INTEGRITY' }),
    );
    // The failed transaction left nothing behind.
    expect(replica.has(groupId, v2.versionId)).toBe(false);
    replica.close();
  });

  it('keeps values and key names encrypted at rest', async () => {
    const path = 'at-rest.sqlite';
    const replica = open(path);
    const marker = `SECRET-${hex()}`;
    replica.apply(groupId, [{ ...(feed()[0] as RecordEntry), key: `key-${marker}`, value: { marker } }]);
    replica.close();
    const files = await Promise.all(
      ['', '-wal'].map((s) => readFile(join(dir, path + s)).catch(() => Buffer.alloc(0))),
    );
    expect(Buffer.concat(files).includes(marker)).toBe(false);
    const wrongKey = open(path, Buffer.alloc(32, 8));
    expect(() => wrongKey.heads(groupId)).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    wrongKey.close();
    const reopened = open(path);
    expect(reopened.heads(groupId)[0]?.value).toEqual({ marker });
    reopened.close();
  });
});

describe('fresh loads of the group key', () => {
  it('shares loads between concurrent callers, but never one that started before a caller', async () => {
    const starts: number[] = [];
    const releases: (() => void)[] = [];
    const loader = new FreshLoader(async () => {
      starts.push(starts.length);
      await new Promise<void>((r) => releases.push(r));
      return starts.length;
    });
    const first = loader.get();
    // Arrive while load 1 runs: they must not get load 1; they share load 2.
    const second = loader.get();
    const third = loader.get();
    expect(starts).toHaveLength(1);
    releases[0]?.();
    expect(await first).toBe(1);
    await new Promise((r) => setTimeout(r, 0));
    expect(starts).toHaveLength(2);
    releases[1]?.();
    expect([await second, await third]).toEqual([2, 2]);
  });
});

describe('record envelope', () => {
  // A stand-in for E3Kit's group cipher: authenticated, so tampering with the sealed bytes fails.
  const groupKey = randomBytes(32);
  const encrypt = async (plain: Buffer) => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', groupKey, iv);
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]);
  };
  const decrypt = async (sealed: Buffer) => {
    const d = createDecipheriv('aes-256-gcm', groupKey, sealed.subarray(0, 12));
    d.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
  };

  const groupId = hex();
  const plainLength = 1000;
  const envelope: RecordEnvelopeV2 = {
    v: 2,
    kind: 'record',
    groupId,
    recordId: deriveRecordId(groupId, 'k'),
    versionId: hex(),
    parentVersionId: hex(),
    pointerId: hex(),
    sender: { identity: 'alice', deviceId: 'device-aaaa' },
    appKey: 'k',
    deleted: false,
    content: {
      objectId: hex(),
      key: randomBytes(32).toString('base64'),
      headerSha256: 'ab'.repeat(32),
      plainLength,
      paddedLength: padme(plainLength),
      segmentSize: 1024 * 1024,
    },
    inline: null,
  };
  const inlined: RecordEnvelopeV2 = {
    ...envelope,
    content: null,
    inline: inlineValue(Buffer.from(JSON.stringify('v'.repeat(plainLength - 2)))),
  };
  /** Seals any JSON, bypassing the writer's checks (what a malicious member could seal). */
  const sealRaw = async (e: unknown) => (await encrypt(Buffer.from(JSON.stringify(e)))).toString('base64');
  const claimOf = (e: RecordEnvelopeV2, sealed: string): VersionClaim => ({
    groupId: e.groupId,
    recordId: e.recordId,
    versionId: e.versionId,
    parentVersionId: e.parentVersionId,
    pointerId: e.pointerId,
    objectId: e.content?.objectId ?? null,
    size: e.content ? ciphertextSize(e.content.paddedLength, e.content.segmentSize) : 0,
    deleted: e.deleted,
    envelope: sealed,
    sender: e.sender,
  });

  it('opens when every binding matches', async () => {
    const sealed = await sealRecordEnvelope(envelope, encrypt);
    await expect(openRecordEnvelope(claimOf(envelope, sealed), decrypt)).resolves.toEqual(envelope);
    const sealedInline = await sealRecordEnvelope(inlined, encrypt);
    await expect(openRecordEnvelope(claimOf(inlined, sealedInline), decrypt)).resolves.toEqual(inlined);
    const tombstone = { ...envelope, deleted: true, content: null, inline: null };
    const sealedTombstone = await sealRecordEnvelope(tombstone, encrypt);
    await expect(openRecordEnvelope(claimOf(tombstone, sealedTombstone), decrypt)).resolves.toEqual(tombstone);
  });

  it('rejects a claim that differs from the envelope in any bound field', async () => {
    const sealed = await sealRecordEnvelope(envelope, encrypt);
    const claim = claimOf(envelope, sealed);
    const sealedInline = await sealRecordEnvelope(inlined, encrypt);
    // An inline value has no object: a claimed object (or stored size) is refused.
    for (const change of [{ objectId: hex() }, { size: 60 }]) {
      await expect(openRecordEnvelope({ ...claimOf(inlined, sealedInline), ...change }, decrypt)).rejects.toMatchObject(
        {
          code: 'INTEGRITY',
        },
      );
    }
    const tampered: Partial<VersionClaim>[] = [
      { groupId: hex() },
      { recordId: hex() },
      { versionId: hex() },
      { parentVersionId: hex() },
      { parentVersionId: null },
      { pointerId: hex() },
      { objectId: hex() },
      { objectId: null, deleted: true, size: 0 },
      { deleted: true },
      { size: claim.size + 16 },
      { sender: { identity: 'alice', deviceId: 'device-bbbb' } },
      { sender: { identity: 'mallory', deviceId: 'device-aaaa' } },
    ];
    for (const change of tampered) {
      await expect(openRecordEnvelope({ ...claim, ...change }, decrypt), JSON.stringify(change)).rejects.toMatchObject({
        code: 'INTEGRITY',
      });
    }
  });

  it('rejects inconsistent envelopes and tampered ciphertext', async () => {
    const bad: RecordEnvelopeV2[] = [
      { ...envelope, content: { ...envelope.content!, paddedLength: plainLength + 1 } },
      { ...envelope, deleted: true }, // a tombstone with content
      { ...envelope, content: null }, // a value in neither place
      { ...envelope, inline: inlined.inline }, // a value in both places
      { ...inlined, deleted: true }, // a tombstone with a value
      { ...inlined, inline: Buffer.from('"v"').toString('base64') }, // not padded
    ];
    for (const e of bad) {
      const sealed = await sealRaw(e);
      // The claim agrees with the envelope: only its inner consistency is wrong.
      await expect(openRecordEnvelope(claimOf(e, sealed), decrypt), JSON.stringify(e)).rejects.toMatchObject({
        code: 'INTEGRITY',
      });
    }
    const sealed = Buffer.from(await sealRecordEnvelope(envelope, encrypt), 'base64');
    sealed.writeUInt8(sealed.readUInt8(sealed.length - 1) ^ 1, sealed.length - 1);
    await expect(openRecordEnvelope(claimOf(envelope, sealed.toString('base64')), decrypt)).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
  });

  it('passes the cipher verdict on a signature through (SENDER_MISMATCH)', async () => {
    const sealed = await sealRecordEnvelope(envelope, encrypt);
    const wrongSigner = async () => {
      throw new ConduitError('SENDER_MISMATCH');
    };
    await expect(openRecordEnvelope(claimOf(envelope, sealed), wrongSigner)).rejects.toMatchObject({
      code: 'SENDER_MISMATCH',
    });
  });
});

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
