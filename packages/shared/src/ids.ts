import { z } from 'zod';

/**
 * Identifiers that cross the network. All are bounded and restricted to URL- and
 * Sync-key-safe characters so they can be used in paths, Redis keys and Sync names verbatim.
 */
export const Identity = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]*$/, 'identity: letters, digits and . _ @ + - only');
export type Identity = z.infer<typeof Identity>;

/** A device (endpoint) id chosen by the device itself: random, base64url. */
export const DeviceId = z
  .string()
  .min(8)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'deviceId: base64url characters only');
export type DeviceId = z.infer<typeof DeviceId>;

const hex128 = (what: string) =>
  z
    .string()
    .length(32)
    .regex(/^[0-9a-f]{32}$/, `${what}: 32 lowercase hex characters`);

/** Opaque random group id (16 bytes hex): names never leak into Sync or S3. */
export const GroupId = hex128('groupId');
export type GroupId = z.infer<typeof GroupId>;

export const PointerId = hex128('pointerId');
export type PointerId = z.infer<typeof PointerId>;

export const ObjectId = hex128('objectId');

/** A synced record's id (docs/records.md says how the SDK derives it from an app's key). */
export const RecordId = hex128('recordId');
export type RecordId = z.infer<typeof RecordId>;

/** One version of a record, chosen at random by the writer. */
export const VersionId = hex128('versionId');
export type VersionId = z.infer<typeof VersionId>;
export type ObjectId = z.infer<typeof ObjectId>;

/** An endpoint is one device of one identity; it acknowledges pointers on its own. */
export interface Endpoint {
  identity: Identity;
  deviceId: DeviceId;
}

/** `identity:deviceId` (identities never contain ':'). */
export const endpointKey = (e: Endpoint): string => `${e.identity}:${e.deviceId}`;

export function parseEndpointKey(key: string): Endpoint {
  const at = key.indexOf(':');
  return { identity: key.slice(0, at), deviceId: key.slice(at + 1) };
}

/** S3 object key of an object in a group: the prefix is what authorisation checks. */
export const objectKeyOf = (groupId: GroupId, objectId: ObjectId): string => `objects/${groupId}/${objectId}`;

/** Sync Map unique name of a group. */
export const syncMapOf = (groupId: GroupId): string => `g_${groupId}`;
