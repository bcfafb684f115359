import {
  CompleteMultipartRequest,
  CompletedUpload,
  ConduitError,
  CreateMultipartRequest,
  GroupParams,
  MAX_PARTS,
  MultipartUpload,
  PresignPartsRequest,
  PresignedParts,
  UploadParams,
} from '@conduit/shared';
import express, { Router, type RequestHandler, type Response } from 'express';
import type { Caller } from './uploads/upload-service.js';
import { requireMembership } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const uploadOperations: readonly ApiOperation[] = [
  {
    method: 'post',
    path: '/groups/:groupId/uploads',
    summary: 'Start a multipart upload of a new object',
    tag: 'uploads',
    auth: 'session',
    params: GroupParams,
    body: CreateMultipartRequest,
    responses: { 201: { description: 'The upload.', schema: MultipartUpload } },
    errors: ['GROUP_NOT_FOUND', 'QUOTA_EXCEEDED'],
  },
  {
    method: 'get',
    path: '/groups/:groupId/uploads/:uploadId',
    summary: 'An open upload (for resuming)',
    tag: 'uploads',
    auth: 'session',
    params: UploadParams,
    responses: { 200: { description: 'The upload.', schema: MultipartUpload } },
    errors: ['GROUP_NOT_FOUND', 'NOT_FOUND', 'FORBIDDEN'],
  },
  {
    method: 'delete',
    path: '/groups/:groupId/uploads/:uploadId',
    summary: 'Abort an upload (idempotent)',
    tag: 'uploads',
    auth: 'session',
    params: UploadParams,
    responses: { 204: { description: 'Aborted.' } },
    errors: ['GROUP_NOT_FOUND', 'FORBIDDEN'],
  },
  {
    method: 'post',
    path: '/groups/:groupId/uploads/:uploadId/parts',
    summary: 'Presigned PUTs of parts, each bound to its size',
    tag: 'uploads',
    auth: 'session',
    params: UploadParams,
    body: PresignPartsRequest,
    responses: { 200: { description: 'The presigned parts.', schema: PresignedParts } },
    errors: ['GROUP_NOT_FOUND', 'NOT_FOUND', 'FORBIDDEN'],
  },
  {
    method: 'post',
    path: '/groups/:groupId/uploads/:uploadId/complete',
    summary: 'Assemble the object from its parts',
    tag: 'uploads',
    auth: 'session',
    params: UploadParams,
    body: CompleteMultipartRequest,
    responses: { 200: { description: 'The object.', schema: CompletedUpload } },
    errors: ['GROUP_NOT_FOUND', 'NOT_FOUND', 'FORBIDDEN'],
  },
];

/**
 * A complete request lists up to 10,000 parts with their ETags, far past the usual 16 KiB body
 * bound; this one is sized for MAX_PARTS entries of the schema's longest ETag, and is only parsed
 * after authentication.
 */
const COMPLETE_BODY_BYTES = MAX_PARTS * 192;
const parseCompleteJson = express.json({
  limit: COMPLETE_BODY_BYTES,
  strict: true,
  type: 'application/json',
  inflate: false,
});
const completeBody: RequestHandler = (req, res, next) => {
  if (!req.is('application/json')) {
    next(new ConduitError('UNSUPPORTED_MEDIA_TYPE'));
    return;
  }
  parseCompleteJson(req, res, next);
};

/**
 * Resumable multipart uploads of a group's objects. Members only; an upload belongs to the
 * endpoint (identity and device) that started it.
 */
export function uploadRoutes(ctx: AppContext): Router {
  const router = Router();

  /** A member's endpoint (the device was checked by `authenticate`). */
  async function caller(res: Response, groupId: string): Promise<Caller> {
    const { identity } = principalOf(res);
    await requireMembership(ctx.access, groupId, identity);
    return { identity, deviceId: callerDevice(res) };
  }

  router
    .route('/groups/:groupId/uploads')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const { size } = parseInput(CreateMultipartRequest, req.body, 'body');
      const upload = await ctx.uploads.create(groupId, await caller(res, groupId), size);
      reply(res, 201, MultipartUpload, upload);
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId/uploads/:uploadId')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, uploadId } = parseInput(UploadParams, req.params, 'path');
      reply(res, 200, MultipartUpload, await ctx.uploads.get(groupId, uploadId, await caller(res, groupId)));
    })
    .delete(authenticate(ctx), async (req, res) => {
      const { groupId, uploadId } = parseInput(UploadParams, req.params, 'path');
      await ctx.uploads.abort(groupId, uploadId, await caller(res, groupId));
      res.status(204).end();
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId/uploads/:uploadId/parts')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId, uploadId } = parseInput(UploadParams, req.params, 'path');
      const { parts } = parseInput(PresignPartsRequest, req.body, 'body');
      const who = await caller(res, groupId);
      reply(res, 200, PresignedParts, await ctx.uploads.presignParts(groupId, uploadId, who, parts));
    })
    .all(methodNotAllowed);

  router
    .route('/groups/:groupId/uploads/:uploadId/complete')
    .post(authenticate(ctx), completeBody, async (req, res) => {
      const { groupId, uploadId } = parseInput(UploadParams, req.params, 'path');
      const { parts } = parseInput(CompleteMultipartRequest, req.body, 'body');
      const who = await caller(res, groupId);
      reply(res, 200, CompletedUpload, await ctx.uploads.complete(groupId, uploadId, who, parts));
    })
    .all(methodNotAllowed);

  return router;
}
