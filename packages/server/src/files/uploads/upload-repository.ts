import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../../adapters/redis/connection.js';
import type { Keys } from '../../adapters/redis/keys.js';
import { RecordUploadPartsReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

/**
 * Multipart upload records in Redis, under the deployment's key prefix so they survive restarts:
 * - `upl:<uploadId>` hash: the record below (plus `partsTotal`, the sum of recorded part sizes);
 * - `upl:<uploadId>:parts` hash: partNumber -> size of its latest presigned PUT;
 * - `uploads:expiry` sorted set: uploadId scored by the time the cleaner may abort it.
 * Records carry a Redis TTL only as a backstop (well past expiresAt); the cleaner removes them.
 */
export interface UploadRecord {
  uploadId: string;
  groupId: string;
  objectId: string;
  /** S3 key of the object being assembled. */
  key: string;
  /** The store's own upload id: never shown to clients. */
  storeUploadId: string;
  size: number;
  identity: string;
  deviceId: string;
  createdAt: string;
  expiresAt: string;
  state: 'open' | 'completed';
}

export type RecordPartsResult = { ok: true } | { ok: false; reason: 'ABSENT' | 'OVER_SIZE' };

/** Records outlive their expiry by this much if the cleaner never runs (its parts: the lifecycle rule's job). */
const BACKSTOP_MS = 7 * 24 * 3600 * 1000;

/** MULTI reports per-command errors in its result instead of throwing them. */
async function execAll(multi: ChainableCommander): Promise<void> {
  for (const [err] of (await multi.exec()) ?? []) if (err) throw err;
}

export class UploadRepository {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {
    this.scripts = defineScripts(redis, 'recordUploadParts', 'claimDueUploads');
  }

  // One hash tag for all uploads (keys.ts): these transactions touch a record and the expiry index.
  private recordKey = (uploadId: string) => this.keys.upload(uploadId);
  private partsKey = (uploadId: string) => this.keys.uploadParts(uploadId);
  private expiryKey = () => this.keys.uploadExpiry();

  async create(record: Omit<UploadRecord, 'state'>): Promise<void> {
    const expiresAtMs = Date.parse(record.expiresAt);
    await execAll(
      this.redis
        .multi()
        .hset(this.recordKey(record.uploadId), { ...record, size: String(record.size), state: 'open', partsTotal: '0' })
        .pexpireat(this.recordKey(record.uploadId), expiresAtMs + BACKSTOP_MS)
        .zadd(this.expiryKey(), expiresAtMs, record.uploadId),
    );
  }

  async get(uploadId: string): Promise<UploadRecord | null> {
    const h = await this.redis.hgetall(this.recordKey(uploadId));
    const { groupId, objectId, key, storeUploadId, size, identity, deviceId, createdAt, expiresAt, state } = h;
    if (!groupId || !objectId || !key || !storeUploadId || !size || !identity || !deviceId) return null;
    if (!createdAt || !expiresAt || (state !== 'open' && state !== 'completed')) return null;
    return {
      uploadId,
      groupId,
      objectId,
      key,
      storeUploadId,
      size: Number(size),
      identity,
      deviceId,
      createdAt,
      expiresAt,
      state,
    };
  }

  /**
   * Records the sizes of freshly presigned parts; refused when the upload is gone or the sum exceeds
   * its size. New sizes replace earlier ones of the same parts, and the whole batch is refused, so
   * recorded sizes never describe an impossible object.
   */
  async recordParts(
    upload: UploadRecord,
    parts: readonly { partNumber: number; size: number }[],
  ): Promise<RecordPartsResult> {
    const args = parts.flatMap((p) => [p.partNumber, p.size]);
    const result = await this.scripts.recordUploadParts(
      [this.recordKey(upload.uploadId), this.partsKey(upload.uploadId)],
      [upload.size, ...args],
    );
    if (result === RecordUploadPartsReply.NotOpen) return { ok: false, reason: 'ABSENT' };
    if (result === RecordUploadPartsReply.OverSize) return { ok: false, reason: 'OVER_SIZE' };
    // The parts hash is created lazily; give it the record's backstop.
    await this.redis.pexpireat(this.partsKey(upload.uploadId), Date.parse(upload.expiresAt) + BACKSTOP_MS);
    return { ok: true };
  }

  /** Recorded size of each part number, in the order given (null: never presigned). */
  async partSizes(uploadId: string, partNumbers: readonly number[]): Promise<(number | null)[]> {
    if (partNumbers.length === 0) return [];
    const sizes = await this.redis.hmget(this.partsKey(uploadId), ...partNumbers.map(String));
    return sizes.map((s) => (s === null ? null : Number(s)));
  }

  /** The object exists: keep a tombstone for `retentionMs` so a retried complete gets the same answer. */
  async markCompleted(uploadId: string, retentionMs: number): Promise<void> {
    await execAll(
      this.redis
        .multi()
        .hset(this.recordKey(uploadId), 'state', 'completed')
        .pexpire(this.recordKey(uploadId), retentionMs)
        .del(this.partsKey(uploadId))
        .zrem(this.expiryKey(), uploadId),
    );
  }

  /** Idempotent. */
  async remove(uploadId: string): Promise<void> {
    await execAll(
      this.redis.multi().del(this.recordKey(uploadId), this.partsKey(uploadId)).zrem(this.expiryKey(), uploadId),
    );
  }

  /** The store's upload ids of every open upload (the expiry index lists exactly those), read in pages. */
  async openStoreUploadIds(page = 500): Promise<Set<string>> {
    const ids = new Set<string>();
    for (let start = 0; ; start += page) {
      const uploadIds = await this.redis.zrange(this.expiryKey(), start, start + page - 1);
      if (uploadIds.length === 0) return ids;
      const pipeline = this.redis.pipeline();
      for (const id of uploadIds) pipeline.hget(this.recordKey(id), 'storeUploadId');
      for (const [err, storeUploadId] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        if (typeof storeUploadId === 'string') ids.add(storeUploadId);
      }
      if (uploadIds.length < page) return ids;
    }
  }

  /**
   * Up to `limit` uploads whose expiry has passed, each leased to the caller for `leaseMs` as it is
   * handed out: concurrent cleaners do not both take one, and a crash only delays it by one lease.
   */
  async claimDue(now: Date, leaseMs: number, limit: number): Promise<string[]> {
    return this.scripts.claimDueUploads([this.expiryKey()], [now.getTime(), leaseMs, limit]);
  }
}
