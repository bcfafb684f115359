import { z } from 'zod';
import { DeviceId, GroupId, Identity, ObjectId, PointerId } from './ids.js';
import { MAX_ENVELOPE_CHARS } from './formats/pointer.js';
import { SealedName } from './names.js';

/**
 * The HTTP API between client and server (all under /v1, JSON, `Authorization: Bearer <token>`).
 * Every authenticated request acts for one device: the one its dev session is bound to, or in
 * OIDC mode the one named by `Conduit-Device: <deviceId>` (docs/api.md). Requests are parsed with
 * these schemas on the server; responses are parsed with them on the client.
 */
export const API_PREFIX = '/v1';
export const DEVICE_HEADER = 'conduit-device';
/** Upper bound on any JSON request body. */
export const MAX_JSON_BODY_BYTES = 16 * 1024;
/** Upper bound on one stored object for the single-PUT upload path. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
/** E3Kit groups hold at most 100 participants, the owner included. */
export const MAX_GROUP_MEMBERS = 100;

export const Password = z.string().min(8).max(256);

// POST /v1/auth/register (dev auth only)
export const RegisterRequest = z.strictObject({
  identity: Identity,
  password: Password,
  /** A reserved name's one-time code (`conduit-server admin bootstrap`). */
  registrationCode: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/)
    .optional(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;
export const RegisterResponse = z.object({ identity: Identity });
export type RegisterResponse = z.infer<typeof RegisterResponse>;

// POST /v1/auth/login (dev auth only): the session is bound to `deviceId` (refused once it is revoked)
export const LoginRequest = z.strictObject({ identity: Identity, password: Password, deviceId: DeviceId });
export type LoginRequest = z.infer<typeof LoginRequest>;
// POST /v1/auth/password (dev auth only) -> 204; the same INVALID_CREDENTIALS as login on a wrong password
export const ChangePasswordRequest = z.strictObject({ identity: Identity, password: Password, newPassword: Password });
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;
/** A dev-mode refresh token: 256 random bits, base64url (43 characters). */
export const RefreshToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
export const SessionResponse = z.object({
  token: z.string().min(1),
  identity: Identity,
  expiresAt: z.iso.datetime(),
  /**
   * Dev auth mode: the device's refresh token (single use: each refresh rotates it) and when its
   * family ends; POST /v1/session/refresh trades it for a new session without the password.
   */
  refreshToken: RefreshToken.optional(),
  refreshExpiresAt: z.iso.datetime().optional(),
});
export type SessionResponse = z.infer<typeof SessionResponse>;

// POST /v1/session/refresh (dev auth only, unauthenticated) -> SessionResponse with a new refresh
// token. A refresh token already traded ends every session of the device (REFRESH_TOKEN_REUSED).
export const RefreshSessionRequest = z.strictObject({
  identity: Identity,
  deviceId: DeviceId,
  refreshToken: RefreshToken,
});
export type RefreshSessionRequest = z.infer<typeof RefreshSessionRequest>;

// DELETE /v1/session -> ends every Conduit session of the calling device (a logout). `ended` is
// false for an identity provider's token, which only the provider can end.
export const LogoutResponse = z.object({ ended: z.boolean() });
export type LogoutResponse = z.infer<typeof LogoutResponse>;

// PUT /v1/devices/:deviceId  -> registers the calling device itself (idempotent; refused once revoked)
export const DeviceParams = z.strictObject({ deviceId: DeviceId });
export const DeviceResponse = z.object({
  identity: Identity,
  deviceId: DeviceId,
  createdAt: z.iso.datetime(),
  /** Sealed by the identity for itself (names.ts); absent until named. */
  sealedName: SealedName.optional(),
});
export type DeviceResponse = z.infer<typeof DeviceResponse>;

// GET /v1/tokens/virgil, GET /v1/tokens/sync
export const VirgilTokenResponse = z.object({ token: z.string().min(1), expiresAt: z.iso.datetime() });
export type VirgilTokenResponse = z.infer<typeof VirgilTokenResponse>;
export const SyncTokenResponse = z.object({
  token: z.string().min(1),
  identity: Identity,
  expiresAt: z.iso.datetime(),
});
export type SyncTokenResponse = z.infer<typeof SyncTokenResponse>;

// POST /v1/groups ; GET /v1/groups/:groupId
export const CreateGroupRequest = z.strictObject({
  groupId: GroupId,
  members: z.array(Identity).max(MAX_GROUP_MEMBERS - 1),
});
export type CreateGroupRequest = z.infer<typeof CreateGroupRequest>;
export const GroupParams = z.strictObject({ groupId: GroupId });
export const GroupView = z.object({
  groupId: GroupId,
  owner: Identity,
  members: z.array(Identity),
  syncMap: z.string(),
  createdAt: z.iso.datetime(),
  /** Sealed with the group key by the owner (names.ts); absent until named. */
  sealedName: SealedName.optional(),
});
export type GroupView = z.infer<typeof GroupView>;

// POST /v1/groups/:groupId/objects  -> presigned PUT for a new object
export const CreateUploadRequest = z.strictObject({
  size: z.number().int().positive().max(MAX_OBJECT_BYTES),
});
export type CreateUploadRequest = z.infer<typeof CreateUploadRequest>;
export const PresignedUrl = z.object({
  objectId: ObjectId,
  url: z.url(),
  method: z.enum(['PUT', 'GET']),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.iso.datetime(),
});
export type PresignedUrl = z.infer<typeof PresignedUrl>;

// GET /v1/groups/:groupId/objects/:objectId  -> presigned GET
export const ObjectParams = z.strictObject({ groupId: GroupId, objectId: ObjectId });

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex');
const SealedEnvelope = z
  .string()
  .min(1)
  .max(MAX_ENVELOPE_CHARS)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'envelope: base64');

// POST /v1/groups/:groupId/pointers  -> registers the pointer, binds it in the ledger and publishes
// its Sync item (the server is the map's only writer; the sender fields come from the session).
export const RegisterPointerRequest = z.strictObject({
  pointerId: PointerId,
  objectId: ObjectId,
  /** Stored (ciphertext) size: must equal the object's. */
  size: z
    .number()
    .int()
    .positive()
    .max(5 * 1024 ** 4),
  envelope: SealedEnvelope,
});
export type RegisterPointerRequest = z.infer<typeof RegisterPointerRequest>;
export const EndpointView = z.object({ identity: Identity, deviceId: DeviceId });
/**
 * pending -> purging -> purged | expired; purging -> failed when purging gave up (docs/delivery.md);
 * withdrawn (terminal) from any other state when the sender or the group owner withdrew the file.
 */
export const PointerState = z.enum(['pending', 'purging', 'purged', 'expired', 'failed', 'withdrawn']);
export type PointerState = z.infer<typeof PointerState>;
export const PointerRegistration = z.object({
  pointerId: PointerId,
  groupId: GroupId,
  syncMap: z.string(),
  itemKey: z.string(),
  /** Sync item TTL the publisher must set (seconds): the backstop if purging ever fails. */
  itemTtlSeconds: z.number().int().positive(),
  expected: z.array(EndpointView),
  /**
   * The pointer's delivery state. A retried registration (same sender) reports where the first one
   * got to: publish only while it is 'pending', as a later state means the Sync copy is not wanted.
   */
  state: PointerState,
  /** When the ledger registered the pointer (the Sync item's createdAt). */
  createdAt: z.iso.datetime(),
});
export type PointerRegistration = z.infer<typeof PointerRegistration>;

// POST /v1/pointers/:pointerId/ack ; GET /v1/pointers/:pointerId
export const PointerParams = z.strictObject({ pointerId: PointerId });
/** An Ed25519 signature (Virgil) in base64; bounded for other key types too. */
export const ReceiptSignature = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'signature: base64');
// Ack body: what the endpoint verified (the server checks it against the ledger's binding) and its
// signature over the receipt statement (packages/shared/src/receipt.ts). objectId is null for a
// record tombstone.
export const AckRequest = z.strictObject({
  objectId: ObjectId.nullable(),
  envelopeSha256: Sha256Hex,
  signature: ReceiptSignature,
});
export type AckRequest = z.infer<typeof AckRequest>;
export const AckResponse = z.object({
  pointerId: PointerId,
  remaining: z.number().int().nonnegative(),
  complete: z.boolean(),
});
export type AckResponse = z.infer<typeof AckResponse>;
export const PointerStatus = z.object({
  pointerId: PointerId,
  groupId: GroupId,
  sender: EndpointView,
  state: PointerState,
  expected: z.array(EndpointView),
  acknowledged: z.array(EndpointView),
  /** Endpoints whose pending acknowledgement was dropped (member left, device removed). */
  dropped: z.array(EndpointView).optional(),
  /** Why the pointer left 'pending'. */
  reason: z.enum(['acknowledged', 'expired', 'member-removed', 'device-removed', 'no-recipients']).optional(),
  createdAt: z.iso.datetime(),
  purgedAt: z.iso.datetime().optional(),
  failedAt: z.iso.datetime().optional(),
  /** When and by whom the file was withdrawn (state 'withdrawn'). */
  withdrawnAt: z.iso.datetime().optional(),
  withdrawnBy: Identity.optional(),
  /** The ledger's binding: the object (null for a record tombstone) and the sealed envelope's SHA-256. */
  objectId: ObjectId.nullable(),
  envelopeSha256: Sha256Hex,
  /** One signed receipt per endpoint that acknowledged (the SDK verifies each against its card). */
  receipts: z.array(EndpointView.extend({ signature: ReceiptSignature, at: z.iso.datetime() })),
  /** Problems endpoints reported about this pointer (docs/delivery.md). */
  anomalies: z.array(EndpointView.extend({ kind: z.string(), code: z.string(), at: z.iso.datetime() })),
});
export type PointerStatus = z.infer<typeof PointerStatus>;
// DELETE /v1/pointers/:pointerId: the sender or the group owner withdraws the file (idempotent).
export const PointerWithdrawn = z.object({
  pointerId: PointerId,
  groupId: GroupId,
  state: z.literal('withdrawn'),
  withdrawnAt: z.iso.datetime(),
  withdrawnBy: Identity,
});
export type PointerWithdrawn = z.infer<typeof PointerWithdrawn>;
// DELETE /v1/groups/:groupId: the owner deletes the group; the worker finishes the deletion.
export const GroupDeleting = z.object({ groupId: GroupId, state: z.literal('deleting') });
export type GroupDeleting = z.infer<typeof GroupDeleting>;

/**
 * Multipart uploads (large objects, resumable). S3 allows 10,000 parts of 5 MiB to 5 GiB each
 * (the last may be smaller); parts may differ in size, since container parts are whole segments.
 */
export const MAX_MULTIPART_OBJECT_BYTES = 5 * 1024 ** 4;
export const MIN_PART_BYTES = 5 * 1024 ** 2;
export const MAX_PART_BYTES = 5 * 1024 ** 3;
export const MAX_PARTS = 10_000;
/** Part URLs requested in one call. */
export const MAX_PARTS_PER_REQUEST = 100;

export const UploadId = z
  .string()
  .length(32)
  .regex(/^[0-9a-f]{32}$/, 'uploadId: 32 lowercase hex characters');
export type UploadId = z.infer<typeof UploadId>;

// POST /v1/groups/:groupId/uploads  -> starts a multipart upload of a new object of `size` bytes
export const CreateMultipartRequest = z.strictObject({
  size: z.number().int().positive().max(MAX_MULTIPART_OBJECT_BYTES),
});
export type CreateMultipartRequest = z.infer<typeof CreateMultipartRequest>;
export const MultipartUpload = z.object({
  uploadId: UploadId,
  objectId: ObjectId,
  size: z.number().int().positive(),
  /** After this the server aborts the upload and frees its parts. */
  expiresAt: z.iso.datetime(),
});
export type MultipartUpload = z.infer<typeof MultipartUpload>;
export const UploadParams = z.strictObject({ groupId: GroupId, uploadId: UploadId });

// GET /v1/groups/:groupId/uploads/:uploadId  -> the upload, for resuming (404 once expired or completed)
// POST /v1/groups/:groupId/uploads/:uploadId/parts  -> presigned PUTs for the named parts
export const PartNumber = z.number().int().min(1).max(MAX_PARTS);
export const PresignPartsRequest = z.strictObject({
  parts: z
    .array(z.strictObject({ partNumber: PartNumber, size: z.number().int().positive().max(MAX_PART_BYTES) }))
    .min(1)
    .max(MAX_PARTS_PER_REQUEST),
});
export type PresignPartsRequest = z.infer<typeof PresignPartsRequest>;
export const PresignedParts = z.object({
  parts: z.array(
    z.object({
      partNumber: PartNumber,
      url: z.url(),
      headers: z.record(z.string(), z.string()),
    }),
  ),
  expiresAt: z.iso.datetime(),
});
export type PresignedParts = z.infer<typeof PresignedParts>;

// POST /v1/groups/:groupId/uploads/:uploadId/complete  -> the object exists afterwards
export const CompleteMultipartRequest = z.strictObject({
  parts: z
    .array(z.strictObject({ partNumber: PartNumber, etag: z.string().min(1).max(128) }))
    .min(1)
    .max(MAX_PARTS),
});
export type CompleteMultipartRequest = z.infer<typeof CompleteMultipartRequest>;
export const CompletedUpload = z.object({ objectId: ObjectId, size: z.number().int().positive() });
export type CompletedUpload = z.infer<typeof CompletedUpload>;

// DELETE /v1/groups/:groupId/uploads/:uploadId  -> 204; aborts the upload (idempotent)

// DELETE /v1/groups/:groupId/members/:identity  -> 204; the owner removes a member, or a member leaves
export const GroupMemberParams = z.strictObject({ groupId: GroupId, identity: Identity });

// GET /v1/admin/audit  -> application/x-ndjson, one audit record per line (admin identities only).
// Each line is the canonical JSON (sorted keys) of { entry, prev, seq }: prev is the SHA-256 (hex) of
// the previous line, 64 zeros for seq 1. The head at the time of the request is in AUDIT_HEAD_HEADER.
export const AUDIT_HEAD_HEADER = 'conduit-audit-head';
// `<seq> <sha256>`: the retention anchor. Records 1..seq were dropped by audit retention and seq + 1
// is the first the server still has (its prev is the sha256); `0 <64 zeros>` when none were.
export const AUDIT_BASE_HEADER = 'conduit-audit-base';
// The line format (AuditRecord) and its chain rules: formats/audit-chain.ts.

// ---- Groups, devices (lifecycle) ----

// GET /v1/groups  -> the caller's groups (owner or member)
export const GroupList = z.object({ groups: z.array(GroupView) });
export type GroupList = z.infer<typeof GroupList>;

// POST /v1/groups/:groupId/members  -> 200 GroupView; the owner adds members (E3Kit: creator-only changes)
export const AddMembersRequest = z.strictObject({
  members: z
    .array(Identity)
    .min(1)
    .max(MAX_GROUP_MEMBERS - 1),
});
export type AddMembersRequest = z.infer<typeof AddMembersRequest>;

// GET /v1/devices  -> the caller's registered devices
export const DeviceList = z.object({ devices: z.array(DeviceResponse) });
export type DeviceList = z.infer<typeof DeviceList>;

// ---- Records sync: the routes' schemas are in records-api.ts ----

/** Upper bound on one record's JSON (plaintext). */
export const MAX_RECORD_BYTES = 1024 * 1024;

// ---- Delivery anomalies and sender devices (docs/delivery.md) ----

/**
 * What a receiving endpoint found wrong with a pointer: it vanished before this endpoint acked
 * it, its item changed, it failed verification, or the ledger does not know it.
 */
export const AnomalyKind = z.enum(['vanished', 'changed', 'unverifiable', 'unknown']);
export type AnomalyKind = z.infer<typeof AnomalyKind>;
// POST /v1/groups/:groupId/anomalies  -> 202 { recorded } (members only; one per pointer per device)
export const AnomalyReport = z.strictObject({
  pointerId: PointerId,
  kind: AnomalyKind,
  /** The typed error code that made it an anomaly (e.g. SENDER_DEVICE_REVOKED). */
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,39}$/),
});
export type AnomalyReport = z.infer<typeof AnomalyReport>;
export const AnomalyRecorded = z.object({ recorded: z.boolean() });
export type AnomalyRecorded = z.infer<typeof AnomalyRecorded>;

// GET /v1/groups/:groupId/members/:identity/devices  -> a co-member's devices, revoked ones too
export const MemberDevice = z.object({
  deviceId: DeviceId,
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().optional(),
});
export type MemberDevice = z.infer<typeof MemberDevice>;
export const MemberDeviceList = z.object({ identity: Identity, devices: z.array(MemberDevice) });
export type MemberDeviceList = z.infer<typeof MemberDeviceList>;
