import {
  FeedPage,
  FeedParams,
  GroupParams,
  MAX_RECORD_BATCH_BODY_BYTES,
  MAX_RECORD_VERSION_BODY_BYTES,
  PutRecordBatchRequest,
  PutRecordVersionRequest,
  RecordBatchResult,
  RecordHistory,
  RecordParams,
  RecordVersion,
  RecordWrite,
} from '@conduit/shared';
import { Router } from 'express';
import { requireMembership } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBodyUpTo, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const recordOperations: readonly ApiOperation[] = [
  {
    method: 'post',
    path: '/groups/:groupId/records/:recordId/versions',
    summary: "Append a version whose parent is the record's head",
    tag: 'records',
    auth: 'session',
    params: RecordParams,
    body: PutRecordVersionRequest,
    responses: { 201: { description: 'The version (also for a retry).', schema: RecordWrite } },
    errors: ['GROUP_NOT_FOUND', 'NOT_FOUND', 'RECORD_CONFLICT', 'POINTER_EXISTS'],
  },
  {
    method: 'get',
    path: '/groups/:groupId/records/:recordId/versions',
    summary: "A record's newest versions, oldest first",
    tag: 'records',
    auth: 'session',
    params: RecordParams,
    responses: { 200: { description: 'The versions.', schema: RecordHistory } },
    errors: ['GROUP_NOT_FOUND', 'RECORD_NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/groups/:groupId/record-versions',
    summary: 'Append many versions in request order, one result each',
    tag: 'records',
    auth: 'session',
    params: GroupParams,
    body: PutRecordBatchRequest,
    responses: { 200: { description: 'One result per version.', schema: RecordBatchResult } },
    errors: ['GROUP_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/groups/:groupId/records/:recordId',
    summary: "A record's head (a tombstone once deleted)",
    tag: 'records',
    auth: 'session',
    params: RecordParams,
    responses: { 200: { description: 'The head.', schema: RecordVersion } },
    errors: ['GROUP_NOT_FOUND', 'RECORD_NOT_FOUND'],
  },
  {
    method: 'get',
    path: '/groups/:groupId/feed/:afterSeq',
    summary: "One page of the group's durable feed, with presigned GETs",
    tag: 'records',
    auth: 'session',
    params: FeedParams,
    responses: { 200: { description: 'The page; `next` is null at the end.', schema: FeedPage } },
    errors: ['GROUP_NOT_FOUND'],
  },
];

/** Records sync routes over RecordService (docs/records.md). Members only. */
export function recordRoutes(ctx: AppContext): Router {
  const router = Router();

  router
    .route('/groups/:groupId/records/:recordId/versions')
    // POST: a new version whose parent must be the current head (null parent: a new record).
    .post(authenticate(ctx), jsonBodyUpTo(MAX_RECORD_VERSION_BODY_BYTES), async (req, res) => {
      const { groupId, recordId } = parseInput(RecordParams, req.params, 'path');
      const body = parseInput(PutRecordVersionRequest, req.body, 'body');
      const { identity } = principalOf(res);
      await requireMembership(ctx.access, groupId, identity);
      const written = await ctx.records.write(groupId, recordId, { identity, deviceId: callerDevice(res) }, body);
      reply(res, 201, RecordWrite, written);
    })
    // GET: the record's history, oldest first (its newest MAX_RECORD_HISTORY versions).
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, recordId } = parseInput(RecordParams, req.params, 'path');
      await requireMembership(ctx.access, groupId, principalOf(res).identity);
      reply(res, 200, RecordHistory, { versions: await ctx.records.history(groupId, recordId) });
    })
    .all(methodNotAllowed);

  // POST /v1/groups/:groupId/record-versions: many versions in request order, one result each.
  router
    .route('/groups/:groupId/record-versions')
    .post(authenticate(ctx), jsonBodyUpTo(MAX_RECORD_BATCH_BODY_BYTES), async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const body = parseInput(PutRecordBatchRequest, req.body, 'body');
      const { identity } = principalOf(res);
      await requireMembership(ctx.access, groupId, identity);
      const sender = { identity, deviceId: callerDevice(res) };
      reply(res, 200, RecordBatchResult, { results: await ctx.records.writeBatch(groupId, sender, body.versions) });
    })
    .all(methodNotAllowed);

  // GET /v1/groups/:groupId/records/:recordId: the head (a tombstone when the record was deleted).
  router
    .route('/groups/:groupId/records/:recordId')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, recordId } = parseInput(RecordParams, req.params, 'path');
      await requireMembership(ctx.access, groupId, principalOf(res).identity);
      reply(res, 200, RecordVersion, await ctx.records.head(groupId, recordId));
    })
    .all(methodNotAllowed);

  // GET /v1/groups/:groupId/feed/:afterSeq: one page of the durable feed, with presigned GETs.
  router
    .route('/groups/:groupId/feed/:afterSeq')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, afterSeq } = parseInput(FeedParams, req.params, 'path');
      await requireMembership(ctx.access, groupId, principalOf(res).identity);
      reply(res, 200, FeedPage, await ctx.records.feed(groupId, afterSeq));
    })
    .all(methodNotAllowed);

  return router;
}
