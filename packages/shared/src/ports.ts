/**
 * Ports: what the server and client need from the outside world. Adapters live next to their
 * users (server/src/adapters, client/src/adapters) and are swapped by configuration alone
 * (real Twilio/Virgil/AWS or the local devstack).
 */
import type { RawCardModel } from './auth-api.js';
import type { DeviceId, Identity } from './ids.js';

export interface Expiring<T> {
  value: T;
  expiresAt: Date;
}

/** Who a bearer token belongs to. */
export interface Principal {
  identity: Identity;
  /** The device a dev session is bound to; absent for identity-provider tokens (OIDC). */
  deviceId?: DeviceId;
  /** The session epoch a dev session was issued in; a password change or lock moves past it. */
  sessionEpoch?: number;
  /** The device's session epoch a dev session was issued in; a logout of that device moves past it. */
  deviceSessionEpoch?: number;
  /** OIDC: when the user last authenticated at the provider (the ID token's `auth_time`, Unix seconds). */
  authTime?: number;
}

/** Verifies bearer tokens (dev sessions, or the app's identity provider JWTs in production). */
export interface Authenticator {
  authenticate(bearerToken: string): Promise<Principal>;
}

/** Issues third-party access tokens bound to one identity. */
export interface TokenIssuer {
  issue(identity: Identity): Promise<Expiring<string>>;
}

export interface PresignedRequest {
  url: string;
  headers: Record<string, string>;
  expiresAt: Date;
}

/** Ciphertext object storage (S3 or compatible). Keys are opaque; bodies are ciphertext only. */
export interface ObjectStore {
  presignPut(key: string, size: number): Promise<PresignedRequest>;
  presignGet(key: string): Promise<PresignedRequest>;
  /** Size (and ETag, when the store gives one) of a stored object, or null when it does not exist. */
  head(key: string): Promise<{ size: number; etag?: string } | null>;
  /** Readiness probe. */
  ping(): Promise<void>;
  /** Deletes an object; an absent object counts as deleted. */
  deleteObject(key: string): Promise<void>;
  /**
   * Deletes up to 1,000 objects in one request (S3 DeleteObjects, quiet mode): absent keys count as
   * deleted; `failed` lists the keys S3 refused, with its error code. More than 1,000 keys throws.
   */
  deleteObjects(keys: readonly string[]): Promise<{ failed: { key: string; code: string }[] }>;
  /** The objects whose keys start with `prefix`, page by page (S3 ListObjectsV2, bounded memory). */
  listObjects(prefix: string): AsyncIterable<StoredObject[]>;
  /** Starts a multipart upload; the returned id is the store's own (never shown to clients). */
  createMultipartUpload(key: string): Promise<{ storeUploadId: string }>;
  /** Presigned PUT of one part of exactly `size` bytes. */
  presignUploadPart(key: string, storeUploadId: string, partNumber: number, size: number): Promise<PresignedRequest>;
  completeMultipartUpload(
    key: string,
    storeUploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void>;
  /**
   * Aborts an upload and frees its parts. 'unsupported' when the store cannot abort (s3rver answers
   * 405): the caller drops its record and relies on the bucket's lifecycle rule instead.
   */
  abortMultipartUpload(key: string, storeUploadId: string): Promise<'aborted' | 'absent' | 'unsupported'>;
  /** The open multipart uploads whose keys start with `prefix`, page by page (S3 ListMultipartUploads). */
  listMultipartUploads(prefix: string): AsyncIterable<OpenMultipartUpload[]>;
  /**
   * The bucket's lifecycle rules, 'none' when it has none; 'unsupported' when the store does not
   * implement them (501, 405), 'denied' when the credentials may not read them (AccessDenied).
   */
  bucketRules(): Promise<BucketRules>;
  /** Whether the bucket keeps noncurrent versions of deleted objects ('off': never enabled). */
  bucketVersioning(): Promise<'enabled' | 'suspended' | 'off' | 'unsupported' | 'denied'>;
}

export interface OpenMultipartUpload {
  key: string;
  /** The store's own upload id. */
  uploadId: string;
  initiated: Date;
}

/** One bucket lifecycle rule, as far as Conduit reads it (docs/lifecycle.md). */
export interface BucketRule {
  id: string;
  status: 'Enabled' | 'Disabled';
  /** The rule's key prefix ('' = the whole bucket); absent when it also filters by tags or size. */
  prefix?: string;
  abortIncompleteAfterDays?: number;
  expirationDays?: number;
}

export type BucketRules = { rules: BucketRule[] } | 'none' | 'unsupported' | 'denied';

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface SyncPermissions {
  read: boolean;
  write: boolean;
  manage: boolean;
}

/** Server-side administration of Twilio Sync (REST API). */
export interface SyncAdmin {
  /** Creates the map if absent (idempotent): 'exists' when it was there already. */
  ensureMap(uniqueName: string): Promise<'created' | 'exists'>;
  setMapPermissions(map: string, identity: Identity, permissions: SyncPermissions): Promise<void>;
  /**
   * Creates or replaces one item (idempotent) with a TTL in seconds: the server publishes every
   * pointer itself, as members may only read a group's map. 'map-missing' when the map does not
   * exist (expired or deleted): nothing was written, the caller re-provisions the map. `likely`
   * says which request to try first: 'new' (create, then replace if the key exists) or 'existing'
   * (replace, then create if it does not): one REST request when the guess is right.
   */
  setMapItem(
    map: string,
    key: string,
    data: Record<string, unknown>,
    ttlSeconds: number,
    likely?: 'new' | 'existing',
  ): Promise<'written' | 'map-missing'>;
  /** Deletes one item; an item that is already gone counts as done. */
  removeMapItem(map: string, key: string): Promise<'removed' | 'absent'>;
  /** Deletes the map with every item and grant; 'absent' when it does not exist. */
  removeMap(uniqueName: string): Promise<'removed' | 'absent'>;
  /** Revokes an identity's access to the map; 'absent' when it had no grant. */
  removeMapPermissions(map: string, identity: Identity): Promise<'removed' | 'absent'>;
  /** Every map of the service, page by page (bounded memory). */
  listMaps(): AsyncIterable<SyncMapSummary[]>;
  /** Every (unexpired) item of the map, page by page; nothing when the map does not exist. */
  listMapItems(map: string): AsyncIterable<SyncMapItemSummary[]>;
}

export interface SyncMapSummary {
  sid: string;
  uniqueName: string | null;
}

export interface SyncMapItemSummary {
  key: string;
  dateCreated: Date;
}

/**
 * Client-side live channel for pointers (Twilio Sync Map via twilio-sync). Read-only: members may
 * not write a group's map, the server publishes.
 */
export interface PointerChannel {
  /**
   * Calls `onItem` for every item present now and every item added or updated later, and
   * `onRemoved` for every item removed, until the returned function is called. Errors thrown by
   * the callbacks are the caller's to handle.
   */
  subscribe(
    map: string,
    onItem: (key: string, data: unknown) => void,
    onRemoved?: (key: string) => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * The operator's administration of the key directory (Virgil Cards and Keyknox) for one identity:
 * what deleting an identity needs when its own device cannot do it (docs/lifecycle.md).
 */
export interface DirectoryAdmin {
  /**
   * Revokes every card of the identity and resets its Keyknox key backups (v1, and v2 under
   * `e3kit/backup`). Idempotent: an identity without cards or backups answers zeros. `retire` gets
   * the cards found, as the directory returned them, before any is revoked (and must have kept
   * them when it resolves: a crash in between must not lose them).
   */
  eraseIdentity(
    identity: Identity,
    retire: (cards: RawCardModel[]) => Promise<void>,
  ): Promise<{ cardsRevoked: number; backupsReset: number }>;
}
