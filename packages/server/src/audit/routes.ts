import { AUDIT_BASE_HEADER, AUDIT_HEAD_HEADER, ConduitError } from '@conduit/shared';
import { z } from 'zod';
import { Router, type Request } from 'express';
import { requireAdmin } from '../ops/admin.js';
import type { AppContext } from '../http/context.js';
import { methodNotAllowed } from '../http/middleware.js';
import type { ApiOperation } from '../http/openapi/operation.js';

/** The OpenAPI description of the route below (http/openapi/). */
export const auditOperations: readonly ApiOperation[] = [
  {
    method: 'get',
    path: '/admin/audit',
    summary: 'The hash-chained audit log as NDJSON (admins only)',
    tag: 'ops',
    auth: 'admin',
    query: z.object({
      from: z
        .string()
        .regex(/^[1-9][0-9]{0,14}$/)
        .optional(),
    }),
    responses: {
      200: {
        description:
          'Records `from` (default 1; at least the first record kept after the retention anchor) to the head read at the start.',
        contentType: 'application/x-ndjson',
        headers: {
          [AUDIT_HEAD_HEADER]: '`<seq> <sha256>` of the head the download ends at.',
          [AUDIT_BASE_HEADER]:
            '`<seq> <sha256>` of the retention anchor: records 1..seq were dropped by audit retention (`0` and 64 zeros when none were).',
        },
      },
    },
    errors: ['FORBIDDEN'],
  },
];

/** `?from=<seq>` (the app parses no query strings itself). */
function fromSeq(req: Request): number {
  const raw = new URL(req.originalUrl, 'http://localhost').searchParams.get('from');
  if (raw === null) return 1;
  if (!/^[1-9][0-9]{0,14}$/.test(raw)) {
    throw new ConduitError('VALIDATION_FAILED', 'Invalid query.', [
      { where: 'query', path: 'from', message: 'a positive integer' },
    ]);
  }
  return Number(raw);
}

/**
 * GET /v1/admin/audit[?from=N]: the audit chain as NDJSON, records from..head where head is read
 * once at the start (sent in the Conduit-Audit-Head header as "<seq> <sha256>", so a verifier can
 * detect a truncated download). Records up to the retention anchor (Conduit-Audit-Base, read with
 * the head) are gone: a `from` at or below it starts at the first record kept.
 */
export function auditRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/admin/audit')
    .get(...requireAdmin(ctx), async (req, res) => {
      const from = fromSeq(req);
      // Seal what is pending first, so entries committed just before this request are included.
      await ctx.audit.seal();
      const { head, base } = await ctx.audit.bounds();
      res.status(200).set({
        'Content-Type': 'application/x-ndjson; charset=utf-8',
        [AUDIT_HEAD_HEADER]: `${head.seq} ${head.hash}`,
        [AUDIT_BASE_HEADER]: `${base.seq} ${base.hash}`,
      });
      for await (const lines of ctx.audit.lines(from, head.seq)) {
        if (res.destroyed) return;
        if (lines.length === 0) break;
        if (!res.write(`${lines.join('\n')}\n`)) {
          await new Promise<void>((resolve) => {
            res.once('drain', resolve);
            res.once('close', resolve);
          });
        }
      }
      res.end();
    })
    .all(methodNotAllowed);
  return router;
}
