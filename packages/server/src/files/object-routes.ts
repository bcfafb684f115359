import { randomBytes } from 'node:crypto';
import {
  ConduitError,
  CreateUploadRequest,
  GroupParams,
  ObjectParams,
  PresignedUrl,
  objectKeyOf,
} from '@conduit/shared';
import { Router } from 'express';
import { requireMembership } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';

/** Presigned S3 access to a group's ciphertext objects; members only. */
export function objectRoutes(ctx: AppContext): Router {
  const router = Router();

  // POST /v1/groups/:groupId/objects: a fresh object id and a PUT bound to the declared size.
  router
    .route('/groups/:groupId/objects')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const { size } = parseInput(CreateUploadRequest, req.body, 'body');
      await requireMembership(ctx, groupId, principalOf(res).identity);
      // Server-chosen ids: a client can never overwrite an existing object.
      const objectId = randomBytes(16).toString('hex');
      const put = await ctx.objectStore.presignPut(objectKeyOf(groupId, objectId), size);
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
      await requireMembership(ctx, groupId, principalOf(res).identity);
      const key = objectKeyOf(groupId, objectId);
      if (!(await ctx.objectStore.head(key))) throw new ConduitError('NOT_FOUND', 'No such object.');
      const get = await ctx.objectStore.presignGet(key);
      reply(res, 200, PresignedUrl, {
        objectId,
        url: get.url,
        method: 'GET',
        headers: get.headers,
        expiresAt: get.expiresAt.toISOString(),
      });
    })
    .all(methodNotAllowed);

  return router;
}
