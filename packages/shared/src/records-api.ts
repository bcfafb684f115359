import { z } from 'zod';
import { GroupId, ObjectId, PointerId, RecordId, VersionId } from './ids.js';
import { EndpointView } from './api.js';

// Records sync (docs/records.md): the routes' request and response schemas.
/** Feed entries per page. */
export const FEED_PAGE_SIZE = 1000;
/**
 * Base64 of a sealed record envelope. Higher than a file pointer's (MAX_ENVELOPE_CHARS) because a
 * v2 envelope may carry the value inline; records never travel through Sync, so Sync's 16 KiB
 * item limit does not apply.
 */
export const MAX_RECORD_ENVELOPE_CHARS = 16 * 1024;
/** Versions in one batch write. */
export const MAX_RECORD_BATCH_ITEMS = 100;
/** Body limit of the single-version route: one envelope and its ids. */
export const MAX_RECORD_VERSION_BODY_BYTES = 20 * 1024;
/** Body limit of the batch route (the global JSON limit stays for the other routes). */
export const MAX_RECORD_BATCH_BODY_BYTES = 1024 * 1024;

export const RecordParams = z.strictObject({ groupId: GroupId, recordId: RecordId });
const Envelope = z
  .string()
  .min(1)
  .max(MAX_RECORD_ENVELOPE_CHARS)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'envelope: base64');

/**
 * One version to append. objectId is null for a tombstone and for a live version whose value
 * travels inline in the sealed envelope (record envelope v2); a tombstone never names an object.
 * pointerId is the version's idempotency id (unique in the group); nothing is registered for it.
 */
const RecordVersionFields = z.strictObject({
  versionId: VersionId,
  parentVersionId: VersionId.nullable(),
  pointerId: PointerId,
  /** The uploaded ciphertext; null for a tombstone or an inline value. */
  objectId: ObjectId.nullable(),
  deleted: z.boolean(),
  /** The sealed record envelope (base64), stored in the durable feed. */
  envelope: Envelope,
});
const tombstoneHasNoObject = (v: { deleted: boolean; objectId: string | null }): boolean =>
  !v.deleted || v.objectId === null;
const TOMBSTONE_OBJECT = { message: 'a tombstone has no object', path: ['objectId'] };

// POST /v1/groups/:groupId/records/:recordId/versions  (Conduit-Device header)
// -> 201 RecordWrite; 409 RECORD_CONFLICT with details { head: RecordVersion | null } when the
// parent is not the current head (null parent = "create": the record must not exist).
export const PutRecordVersionRequest = RecordVersionFields.refine(tombstoneHasNoObject, TOMBSTONE_OBJECT);
export type PutRecordVersionRequest = z.infer<typeof PutRecordVersionRequest>;

// POST /v1/groups/:groupId/record-versions  (Conduit-Device header; body at most
// MAX_RECORD_BATCH_BODY_BYTES) -> 200 RecordBatchResult, one result per item in request order.
// Items are appended in request order, so a later item may name an earlier one as its parent.
export const PutRecordBatchItem = RecordVersionFields.extend({ recordId: RecordId }).refine(
  tombstoneHasNoObject,
  TOMBSTONE_OBJECT,
);
export type PutRecordBatchItem = z.infer<typeof PutRecordBatchItem>;
export const PutRecordBatchRequest = z.strictObject({
  versions: z.array(PutRecordBatchItem).min(1).max(MAX_RECORD_BATCH_ITEMS),
});
export type PutRecordBatchRequest = z.infer<typeof PutRecordBatchRequest>;

export const RecordVersion = z.object({
  seq: z.number().int().positive(),
  recordId: RecordId,
  versionId: VersionId,
  parentVersionId: VersionId.nullable(),
  /** Null for a tombstone or an inline value. */
  objectId: ObjectId.nullable(),
  /** Stored ciphertext size (0 without an object). */
  size: z.number().int().nonnegative(),
  deleted: z.boolean(),
  envelope: Envelope,
  sender: EndpointView,
  pointerId: PointerId,
  createdAt: z.iso.datetime(),
});
export type RecordVersion = z.infer<typeof RecordVersion>;

export const RecordWrite = z.object({ version: RecordVersion });
export type RecordWrite = z.infer<typeof RecordWrite>;

/** Why one batch item was refused (the codes the single route would answer with). */
export const RecordBatchFailureCode = z.enum(['POINTER_EXISTS', 'NOT_FOUND', 'VALIDATION_FAILED']);
export type RecordBatchFailureCode = z.infer<typeof RecordBatchFailureCode>;
export const RecordBatchItemResult = z.discriminatedUnion('status', [
  z.object({ status: z.enum(['created', 'existing']), version: RecordVersion }),
  z.object({ status: z.literal('conflict'), head: RecordVersion.nullable() }),
  z.object({ status: z.literal('failed'), code: RecordBatchFailureCode, message: z.string() }),
]);
export type RecordBatchItemResult = z.infer<typeof RecordBatchItemResult>;
export const RecordBatchResult = z.object({ results: z.array(RecordBatchItemResult) });
export type RecordBatchResult = z.infer<typeof RecordBatchResult>;

// GET /v1/groups/:groupId/records/:recordId  -> the head RecordVersion (404 RECORD_NOT_FOUND)
// GET /v1/groups/:groupId/records/:recordId/versions  -> { versions } oldest first
export const RecordHistory = z.object({ versions: z.array(RecordVersion) });
export type RecordHistory = z.infer<typeof RecordHistory>;

// GET /v1/groups/:groupId/feed/:afterSeq  -> versions with seq > afterSeq, oldest first, at most
// FEED_PAGE_SIZE (fewer once a page's envelopes reach the server's byte budget), each with a
// presigned GET of its object (null without an object); `next` is the afterSeq of the next page.
export const FeedParams = z.strictObject({
  groupId: GroupId,
  afterSeq: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export const FeedEntry = RecordVersion.extend({
  download: z.object({ url: z.url(), headers: z.record(z.string(), z.string()) }).nullable(),
});
export type FeedEntry = z.infer<typeof FeedEntry>;
export const FeedPage = z.object({ entries: z.array(FeedEntry), next: z.number().int().nonnegative().nullable() });
export type FeedPage = z.infer<typeof FeedPage>;
