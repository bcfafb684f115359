import { AnomalyRecorded, AnomalyReport, ConduitError, GroupParams } from '@conduit/shared';
import { Router } from 'express';
import { pointerAnomaly } from '../audit/entries.js';
import { requireMembership } from '../http/access.js';
import type { AppContext } from '../http/context.js';
import { authenticate, callerDevice, jsonBody, methodNotAllowed, principalOf } from '../http/middleware.js';
import { parseInput, reply } from '../http/validate.js';
import { LEDGER_GRACE_SECONDS } from '../files/pointer-registry.js';

/**
 * POST /v1/groups/:groupId/anomalies: a receiving endpoint reports a pointer that vanished,
 * changed, failed verification or that the ledger does not know. Members only; one report per
 * pointer per endpoint and a budget per endpoint (RATE_LIMITED beyond), so a member cannot flood
 * the audit log. Each first report is an audit event and a metric; it shows in the pointer status.
 */
export function anomalyRoutes(ctx: AppContext): Router {
  const router = Router();
  router
    .route('/groups/:groupId/anomalies')
    .post(authenticate(ctx), jsonBody, async (req, res) => {
      const { groupId } = parseInput(GroupParams, req.params, 'path');
      const report = parseInput(AnomalyReport, req.body, 'body');
      const { identity } = principalOf(res);
      await requireMembership(ctx, groupId, identity);
      const reporter = { identity, deviceId: callerDevice(res) };
      // A known pointer of another group is not this group's to annotate.
      const ledgerGroup = await ctx.ledger.groupOf(report.pointerId);
      if (ledgerGroup !== null && ledgerGroup !== groupId) throw new ConduitError('POINTER_NOT_FOUND');

      const at = new Date();
      const outcome = await ctx.anomalies.record(
        report.pointerId,
        { ...reporter, kind: report.kind, code: report.code, at: at.toISOString() },
        ctx.config.twilio.itemTtlSeconds + LEDGER_GRACE_SECONDS,
      );
      if (outcome === 'over-budget') throw new ConduitError('RATE_LIMITED', 'Too many anomaly reports; try later.');
      if (outcome === 'recorded') {
        await ctx.audit.append(pointerAnomaly({ ...report, groupId, reporter, at }));
        ctx.observer.onAnomaly({ kind: report.kind });
      }
      reply(res, 202, AnomalyRecorded, { recorded: outcome === 'recorded' });
    })
    .all(methodNotAllowed);
  return router;
}
