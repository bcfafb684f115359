import { Router } from 'express';
import type { ApiOperation } from './operation.js';
import { methodNotAllowed } from '../middleware.js';

export const OPENAPI_PATH = '/openapi.json';

export const openApiOperations: readonly ApiOperation[] = [
  {
    method: 'get',
    path: OPENAPI_PATH,
    summary: 'This document',
    description: 'The OpenAPI 3.1 description of the routes this server serves (no authentication).',
    tag: 'meta',
    auth: 'none',
    responses: { 200: { description: 'The OpenAPI document.', contentType: 'application/json' } },
  },
];

/**
 * GET /openapi.json, unauthenticated and cacheable: it holds the route shapes only (no secrets, no
 * internal addresses), the same for every caller. Built on first request and kept.
 */
export function openApiRoutes(build: () => object): Router {
  let body: string | undefined;
  const router = Router();
  router
    .route(OPENAPI_PATH)
    .get((_req, res) => {
      body ??= JSON.stringify(build());
      res.status(200).set('Cache-Control', 'public, max-age=3600').type('application/json').send(body);
    })
    .all(methodNotAllowed);
  return router;
}
