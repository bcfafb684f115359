import {
  CreateUploadRequest,
  GroupParams,
  ObjectParams,
  PointerRegistration,
  PresignedUrl,
  RegisterPointerRequest,
} from '@conduit/shared';
import { Router } from 'express';
import { requireMembership } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the routes below (http/openapi/). */
export const fileOperations: readonly ApiOperation[] = [
  {
    method: 'post',
    path: '/groups/:groupId/objects',
    summary: 'A new object id and a presigned PUT of exactly `size` bytes',
    tag: 'files',
    auth: 'session',
    params: GroupParams,
    body: CreateUploadRequest,
    responses: { 201: { description: 'The presigned PUT.', schema: PresignedUrl } },
    errors: ['GROUP_NOT_FOUND', 'QUOTA_EXCEEDED'],
  },
  {
    method: 'get',
    path: '/groups/:groupId/objects/:objectId',
    summary: 'A presigned GET of an object',
    tag: 'files',
    auth: 'session',
    params: ObjectParams,
    responses: { 200: { description: 'The presigned GET.', schema: PresignedUrl } },
    errors: ['GROUP_NOT_FOUND', 'NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/groups/:groupId/pointers',
    summary: 'Register a pointer; the server publishes its Sync item',
    tag: 'files',
    auth: 'session',
    params: GroupParams,
    body: RegisterPointerRequest,
    responses: {
      200: { description: 'A retry: the first registration.', schema: PointerRegistration },
      201: { description: 'Registered.', schema: PointerRegistration },
    },
    errors: ['GROUP_NOT_FOUND', 'NOT_FOUND', 'POINTER_EXISTS'],
  },
];

/** Presigned S3 access to a group's ciphertext objects and file pointers; members only. */
export function fileRoutes(ctx: AppContext): Router {
  const router = Router();

  // POST /v1/groups/:groupId/objects: a fresh object id and a PUT bound to the declared size.
  router
    .route('/groups/:groupId/objects')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const { size } = parseInput(CreateUploadRequest, req.body, 'body');
      const endpoint = { identity: principalOf(res).identity, deviceId: callerDevice(res) };
      await requireMembership(ctx.access, groupId, endpoint.identity);
      // Counted once a PUT is presigned (the server cannot tell an unused URL from an object) until
      // the object is erased.
      await ctx.quotas.reserveBytes(endpoint.identity, size);
      const { objectId, put } = await ctx.objects.presignUpload(groupId, size, endpoint);
      reply(res, 201, PresignedUrl, {
        objectId,
        url: put.url,
        method: 'PUT',
        headers: put.headers,
        expiresAt: put.expiresAt.toISOString(),
      });
    })
    .all(methodNotAllowed);

  // GET /v1/groups/:groupId/objects/:objectId: a GET for an object that exists.
  router
    .route('/groups/:groupId/objects/:objectId')
    .get(authenticate(ctx), async (req, res) => {
      const { groupId, objectId } = parseInput(ObjectParams, req.params, 'path');
      await requireMembership(ctx.access, groupId, principalOf(res).identity);
      const get = await ctx.objects.presignDownload(groupId, objectId);
      reply(res, 200, PresignedUrl, {
        objectId,
        url: get.url,
        method: 'GET',
        headers: get.headers,
        expiresAt: get.expiresAt.toISOString(),
      });
    })
    .all(methodNotAllowed);

  // POST /v1/groups/:groupId/pointers: the sender hands over the whole pointer (files/file-service.ts);
  // 201 when registered now, 200 when a retry got the first registration back.
  router
    .route('/groups/:groupId/pointers')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const body = parseInput(RegisterPointerRequest, req.body, 'body');
      const { identity } = principalOf(res);
      await requireMembership(ctx.access, groupId, identity);
      const { registration, created } = await ctx.files.send(groupId, { identity, deviceId: callerDevice(res) }, body);
      reply(res, created ? 201 : 200, PointerRegistration, registration);
    })
    .all(methodNotAllowed);

  return router;
}
