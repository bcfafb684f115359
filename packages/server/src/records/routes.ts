import {
  ConduitError,
  FEED_PAGE_SIZE,
  FeedPage,
  FeedParams,
  MAX_RECORD_BYTES,
  PutRecordVersionRequest,
  RecordHistory,
  RecordParams,
  RecordVersion,
  RecordWrite,
  envelopeSha256,
  objectKeyOf,
} from '@conduit/shared';
import type { FeedEntry, RecordPointerV1 } from '@conduit/shared';
import { Router } from 'express';
import { requireMembership } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import { publishPointer, registerPointer } from '../files/pointer-registry.js';

/**
 * A record's ciphertext: a record of at most MAX_RECORD_BYTES, padded (padme adds at most 12%)
 * and sealed (a header and a tag per segment), stays well below this. Bounds what the feed
 * hands to every catching-up device.
 */
export const MAX_RECORD_OBJECT_BYTES = 2 * MAX_RECORD_BYTES;

const invalidBody = (path: string, message: string) =>
  new ConduitError('VALIDATION_FAILED', 'Invalid body.', [{ where: 'body', path, message }]);

/**
 * Records sync (docs/records.md): versioned writes checked against the record's head, the head and
 * history of a record, and each group's durable feed of versions for catch-up. Members only.
 */
export function recordRoutes(ctx: AppContext): Router {
  const router = Router();

  router
    .route('/groups/:groupId/records/:recordId/versions')
    // POST: a new version whose parent must be the current head (null parent: a new record).
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId, recordId } = parseInput(RecordParams, req.params, 'path');
      const body = parseInput(PutRecordVersionRequest, req.body, 'body');
      if (body.deleted && body.objectId !== null) throw invalidBody('objectId', 'a tombstone has no object');
      if (!body.deleted && body.objectId === null) throw invalidBody('objectId', 'required unless deleted');
      const { identity } = principalOf(res);
      await requireMembership(ctx, groupId, identity);
      const deviceId = callerDevice(res);
      const size = body.objectId === null ? 0 : await recordObjectSize(ctx, groupId, body.objectId);

      const result = await ctx.records.append(
        groupId,
        {
          recordId,
          versionId: body.versionId,
          parentVersionId: body.parentVersionId,
          pointerId: body.pointerId,
          objectId: body.objectId,
          size,
          deleted: body.deleted,
          envelope: body.envelope,
          sender: { identity, deviceId },
        },
        new Date(),
      );
      if (result.kind === 'conflict') {
        throw new ConduitError('RECORD_CONFLICT', undefined, { head: result.head });
      }
      if (result.kind === 'pointer-taken') throw new ConduitError('POINTER_EXISTS');
      // After the version is durable: a crash here leaves it in the feed, and the writer's retry
      // (same versionId) lands in the 'existing' branch and registers and publishes then.
      // A retried write finds the pointer registered by its first attempt and gets that back.
      const v = result.version;
      const { registration: pointer } = await registerPointer(ctx, {
        pointerId: v.pointerId,
        groupId,
        sender: v.sender,
        binding: { objectId: v.objectId, envelopeSha256: envelopeSha256(v.envelope) },
      });
      // The feed is the durable copy: a failed publish only delays live delivery (peers catch up).
      await publishPointer(ctx, pointer, recordPointerOf(groupId, v)).catch((err: unknown) => {
        ctx.logger.warn({ err, pointerId: v.pointerId }, 'record pointer not published; peers catch up from the feed');
      });
      reply(res, 201, RecordWrite, { version: result.version, pointer });
    })
    // GET: the record's history, oldest first (its newest MAX_RECORD_HISTORY versions).
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, recordId } = parseInput(RecordParams, req.params, 'path');
      await requireMembership(ctx, groupId, principalOf(res).identity);
      const versions = await ctx.records.history(groupId, recordId);
      if (versions.length === 0) throw new ConduitError('RECORD_NOT_FOUND');
      reply(res, 200, RecordHistory, { versions });
    })
    .all(methodNotAllowed);

  // GET /v1/groups/:groupId/records/:recordId: the head (a tombstone when the record was deleted).
  router
    .route('/groups/:groupId/records/:recordId')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, recordId } = parseInput(RecordParams, req.params, 'path');
      await requireMembership(ctx, groupId, principalOf(res).identity);
      const head = await ctx.records.head(groupId, recordId);
      if (!head) throw new ConduitError('RECORD_NOT_FOUND');
      reply(res, 200, RecordVersion, head);
    })
    .all(methodNotAllowed);

  // GET /v1/groups/:groupId/feed/:afterSeq: one page of the durable feed, with presigned GETs.
  router
    .route('/groups/:groupId/feed/:afterSeq')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, afterSeq } = parseInput(FeedParams, req.params, 'path');
      await requireMembership(ctx, groupId, principalOf(res).identity);
      const { versions, more } = await ctx.records.feed(groupId, afterSeq, FEED_PAGE_SIZE);
      // Presigning is a local HMAC: a page costs no S3 round trip.
      const entries: FeedEntry[] = await Promise.all(
        versions.map(async (v) => {
          if (v.objectId === null) return { ...v, download: null };
          const get = await ctx.objectStore.presignGet(objectKeyOf(groupId, v.objectId));
          return { ...v, download: { url: get.url, headers: get.headers } };
        }),
      );
      reply(res, 200, FeedPage, { entries, next: more ? (versions.at(-1)?.seq ?? null) : null });
    })
    .all(methodNotAllowed);

  return router;
}

/** The stored size of a record's object, which must have been uploaded to this group. */
async function recordObjectSize(ctx: AppContext, groupId: string, objectId: string): Promise<number> {
  const stored = await ctx.objectStore.head(objectKeyOf(groupId, objectId));
  if (!stored) throw new ConduitError('NOT_FOUND', 'No such object.');
  if (stored.size > MAX_RECORD_OBJECT_BYTES) {
    throw invalidBody('objectId', `a record's object may hold at most ${MAX_RECORD_OBJECT_BYTES} bytes`);
  }
  return stored.size;
}

/** The Sync item announcing one version (the same fields the feed serves). */
function recordPointerOf(groupId: string, v: RecordVersion): RecordPointerV1 {
  return {
    v: 1,
    kind: 'record',
    id: v.pointerId,
    groupId,
    sender: v.sender,
    recordId: v.recordId,
    versionId: v.versionId,
    parentVersionId: v.parentVersionId,
    seq: v.seq,
    deleted: v.deleted,
    objectId: v.objectId,
    size: v.size,
    envelope: v.envelope,
    createdAt: v.createdAt,
  };
}
