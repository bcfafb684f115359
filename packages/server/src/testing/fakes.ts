import { randomBytes } from 'node:crypto';
import { ConduitError } from '@conduit/shared';
import type {
  Expiring,
  ObjectStore,
  PresignedRequest,
  StoredObject,
  BucketRules,
  OpenMultipartUpload,
  SyncAdmin,
  SyncPermissions,
  TokenIssuer,
} from '@conduit/shared';
import { Redis } from 'ioredis';
import type { ServerConfig } from '../config.js';

/**
 * Test doubles for the ports and helpers for isolated Redis state. Used by this package's tests
 * (and usable by the dev stack's); never wired into production composition.
 */

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh key prefix per test file, so files can run in parallel against one Redis. */
export const randomKeyPrefix = (): string => `conduit-test:${randomBytes(6).toString('hex')}:`;

/** Deletes every key under the prefix, BullMQ's hash-tagged ones (`{<prefix>bull}:...`) included. */
export async function deleteKeys(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    for (const pattern of [`${prefix}*`, `{${prefix}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    await redis.quit();
  }
}

export function testConfig(prefix: string, overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    redisUrl: TEST_REDIS_URL,
    redisKeyPrefix: prefix,
    // Unit tests drive the pre-OPAQUE routes with plain passwords (the client speaks OPAQUE: e2e tests).
    auth: { mode: 'dev', sessionSecret: randomBytes(32).toString('base64url'), legacyRoutes: true },
    virgil: { appId: 'app', appKeyId: 'key', appPrivateKey: 'unused', tokenTtlSeconds: 600 },
    twilio: {
      accountSid: 'ACtest',
      apiKeySid: 'SKtest',
      apiKeySecret: 'unused',
      serviceSid: 'IStest',
      tokenTtlSeconds: 600,
      itemTtlSeconds: 3600,
    },
    s3: { bucket: 'test', region: 'us-east-1', forcePathStyle: true, presignTtlSeconds: 300 },
    purge: { attempts: 10, backoffBaseMs: 20, backoffMaxMs: 200 },
    logLevel: 'silent',
    ...overrides,
  };
}

/**
 * Objects "exist" once `put` is called, as if the client had used the presigned PUT. Multipart
 * uploads are tested against a real s3rver instead (uploads/, files/upload-routes.test.ts).
 */
export class FakeObjectStore implements ObjectStore {
  readonly objects = new Map<string, number>();
  readonly presigned: { method: 'PUT' | 'GET'; key: string; size?: number }[] = [];

  put(key: string, size: number): void {
    this.objects.set(key, size);
  }

  async presignPut(key: string, size: number): Promise<PresignedRequest> {
    this.presigned.push({ method: 'PUT', key, size });
    return this.request(key, { 'content-length': String(size) });
  }

  async presignGet(key: string): Promise<PresignedRequest> {
    this.presigned.push({ method: 'GET', key });
    return this.request(key, {});
  }

  async head(key: string): Promise<{ size: number } | null> {
    const size = this.objects.get(key);
    return size === undefined ? null : { size };
  }

  async ping(): Promise<void> {}

  async deleteObject(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async deleteObjects(keys: readonly string[]): Promise<{ failed: { key: string; code: string }[] }> {
    if (keys.length > 1000) throw new Error('DeleteObjects takes at most 1,000 keys.');
    for (const key of keys) this.objects.delete(key);
    return { failed: [] };
  }

  async *listObjects(prefix: string): AsyncGenerator<StoredObject[]> {
    const found = [...this.objects].filter(([key]) => key.startsWith(prefix)).sort(([a], [b]) => a.localeCompare(b));
    yield found.map(([key, size]) => ({ key, size, lastModified: new Date(0) }));
  }

  createMultipartUpload(): Promise<{ storeUploadId: string }> {
    return Promise.reject(new Error('FakeObjectStore has no multipart uploads.'));
  }

  presignUploadPart(): Promise<PresignedRequest> {
    return Promise.reject(new Error('FakeObjectStore has no multipart uploads.'));
  }

  completeMultipartUpload(): Promise<void> {
    return Promise.reject(new Error('FakeObjectStore has no multipart uploads.'));
  }

  /** Open uploads listMultipartUploads answers and abortMultipartUpload removes; a test puts them. */
  readonly uploads: OpenMultipartUpload[] = [];
  rules: BucketRules = 'none';
  versioning: 'enabled' | 'suspended' | 'off' | 'unsupported' | 'denied' = 'off';

  async abortMultipartUpload(key: string, storeUploadId: string): Promise<'aborted' | 'absent' | 'unsupported'> {
    const at = this.uploads.findIndex((u) => u.key === key && u.uploadId === storeUploadId);
    if (at < 0) return 'absent';
    this.uploads.splice(at, 1);
    return 'aborted';
  }

  async *listMultipartUploads(prefix: string): AsyncGenerator<OpenMultipartUpload[]> {
    yield this.uploads.filter((u) => u.key.startsWith(prefix)).map((u) => ({ ...u }));
  }

  async bucketRules(): Promise<BucketRules> {
    return this.rules;
  }

  async bucketVersioning(): Promise<'enabled' | 'suspended' | 'off' | 'unsupported' | 'denied'> {
    return this.versioning;
  }

  private request(key: string, headers: Record<string, string>): PresignedRequest {
    return { url: `https://s3.example.test/bucket/${key}?sig=fake`, headers, expiresAt: new Date(Date.now() + 60_000) };
  }
}

/** Records every call; `removeMapItem` behaviour is scriptable per call. */
export class FakeSyncAdmin implements SyncAdmin {
  readonly maps = new Set<string>();
  readonly permissions = new Map<string, SyncPermissions>();
  readonly removeCalls: { map: string; key: string }[] = [];
  /** Items the server published, by `map/key`. */
  readonly items = new Map<string, { data: Record<string, unknown>; ttlSeconds: number }>();
  /** Makes every setMapItem fail (Sync down). */
  failSetItem = false;
  /** Consumed one per removeMapItem call; when empty, the call returns 'removed'. */
  readonly removeScript: ('removed' | 'absent' | Error)[] = [];
  failEnsureMap = false;

  async ensureMap(uniqueName: string): Promise<'created' | 'exists'> {
    if (this.failEnsureMap) throw new Error('sync down');
    if (this.maps.has(uniqueName)) return 'exists';
    this.maps.add(uniqueName);
    return 'created';
  }

  async setMapPermissions(map: string, identity: string, permissions: SyncPermissions): Promise<void> {
    this.permissions.set(`${map}/${identity}`, permissions);
  }

  async setMapItem(
    map: string,
    key: string,
    data: Record<string, unknown>,
    ttlSeconds: number,
  ): Promise<'written' | 'map-missing'> {
    if (this.failSetItem) throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'sync down');
    this.items.set(`${map}/${key}`, { data, ttlSeconds });
    return 'written';
  }

  async removeMapItem(map: string, key: string): Promise<'removed' | 'absent'> {
    this.items.delete(`${map}/${key}`);
    this.removeCalls.push({ map, key });
    const next = this.removeScript.shift() ?? 'removed';
    if (next instanceof Error) throw next;
    return next;
  }

  async removeMapPermissions(map: string, identity: string): Promise<'removed' | 'absent'> {
    return this.permissions.delete(`${map}/${identity}`) ? 'removed' : 'absent';
  }

  async removeMap(uniqueName: string): Promise<'removed' | 'absent'> {
    for (const key of [...this.permissions.keys()]) if (key.startsWith(`${uniqueName}/`)) this.permissions.delete(key);
    return this.maps.delete(uniqueName) ? 'removed' : 'absent';
  }

  async *listMaps(): AsyncGenerator<{ sid: string; uniqueName: string | null }[]> {
    yield [...this.maps].map((uniqueName) => ({ sid: uniqueName, uniqueName }));
  }

  // eslint-disable-next-line require-yield -- the fake holds no items
  async *listMapItems(): AsyncGenerator<{ key: string; dateCreated: Date }[]> {
    return;
  }
}

export class FakeTokenIssuer implements TokenIssuer {
  constructor(private readonly kind: string) {}

  async issue(identity: string): Promise<Expiring<string>> {
    return { value: `${this.kind}-token-for-${identity}`, expiresAt: new Date(Date.now() + 600_000) };
  }
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
