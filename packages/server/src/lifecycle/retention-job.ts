import type { AuditEntry } from '@conduit/shared';
import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisClient } from '../adapters/redis/connection.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { DeleteBudget } from './delete-budget.js';
import type { RunLease } from './run-lease.js';
import type { RetentionStep, RetentionStepResult } from './retention-step.js';

/** The retention job's own queue (under keys.bullPrefix()), off the purge and maintenance queues. */
export const RETENTION_QUEUE = 'conduit-retention';
const RUN = 'retention-run';

/** `skipped`: another run held the lease (lifecycle/run-lease.ts); this one did nothing. */
export type RetentionOutcome = 'completed' | 'interrupted' | 'failed' | 'skipped';

/** Metrics hooks (ops/metrics.ts): objects deleted per step, runs by outcome. */
export interface RetentionObserver {
  onRetentionDeleted?(e: { step: string; count: number }): void;
  onRetentionRun?(e: { outcome: RetentionOutcome }): void;
}

export interface RetentionSummary {
  startedAt: string;
  finishedAt: string;
  outcome: RetentionOutcome;
  steps: Record<string, RetentionStepResult>;
}

export interface RetentionRunDeps {
  steps: readonly RetentionStep[];
  budget: DeleteBudget;
  lease: Pick<RunLease, 'hold'>;
  audit: Pick<AuditLog, 'append'>;
  logger: Logger;
  observer?: RetentionObserver;
}

/**
 * One retention run: the steps in order, each finding its own work in durable state, stopping
 * between batches once `signal` aborts (worker shutdown). A step that throws is logged and the next
 * one still runs. The run ends with one `retention-run` audit entry, only when something was
 * deleted, held or failed: an idle deployment does not grow the chain every interval.
 */
export async function runRetention(
  deps: RetentionRunDeps,
  signal: AbortSignal = new AbortController().signal,
  now = new Date(),
): Promise<RetentionSummary> {
  const ran = await deps.lease.hold(() => runSteps(deps, signal, now));
  if (ran) return ran;
  deps.logger.info('retention run skipped: another run is in progress');
  const at = now.toISOString();
  return { startedAt: at, finishedAt: at, outcome: 'skipped', steps: {} };
}

async function runSteps(deps: RetentionRunDeps, signal: AbortSignal, now: Date): Promise<RetentionSummary> {
  const steps: Record<string, RetentionStepResult> = {};
  let outcome: RetentionOutcome = 'completed';
  const context = { now, signal, takeDeletes: (n: number) => deps.budget.take(n, signal) };
  for (const step of deps.steps) {
    if (signal.aborted) break;
    try {
      const result = await step.run(context);
      steps[step.name] = result;
      if (result.deleted > 0) deps.observer?.onRetentionDeleted?.({ step: step.name, count: result.deleted });
      deps.logger.info({ step: step.name, ...result }, 'retention step done');
    } catch (err) {
      outcome = 'failed';
      deps.logger.error({ err, step: step.name }, 'retention step failed');
    }
  }
  if (signal.aborted && outcome === 'completed') outcome = 'interrupted';
  const summary: RetentionSummary = {
    startedAt: now.toISOString(),
    finishedAt: new Date().toISOString(),
    outcome,
    steps,
  };
  if (Object.values(steps).some(didSomething)) await deps.audit.append(retentionRunEntry(summary));
  deps.observer?.onRetentionRun?.({ outcome });
  return summary;
}

const didSomething = (r: RetentionStepResult): boolean =>
  r.deleted > 0 || r.failed > 0 || Object.values(r.held).some((n) => n > 0);

function retentionRunEntry(summary: RetentionSummary): AuditEntry {
  return {
    type: 'retention-run',
    at: summary.finishedAt,
    startedAt: summary.startedAt,
    finishedAt: summary.finishedAt,
    steps: Object.fromEntries(
      Object.entries(summary.steps).map(([name, r]) => [
        name,
        { deleted: r.deleted, bytes: r.bytes, held: { ...r.held }, failed: r.failed },
      ]),
    ),
  };
}

/** Installs (or updates) the scheduler: one run per interval whatever the number of workers. */
export async function scheduleRetention(queue: Queue, intervalMs: number): Promise<void> {
  await queue.upsertJobScheduler(RUN, { every: intervalMs }, { name: RUN });
}

/** The BullMQ worker running scheduled runs, one at a time; `signal` aborts a run at shutdown. */
export function createRetentionWorker(deps: {
  connection: RedisClient;
  prefix: string;
  run: (signal: AbortSignal) => Promise<RetentionSummary>;
  signal: AbortSignal;
  logger: Logger;
}): Worker {
  const worker = new Worker(RETENTION_QUEUE, async (job: Job) => (job.name === RUN ? deps.run(deps.signal) : null), {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: 1,
    removeOnComplete: { count: 50 },
    removeOnFail: { count: 50 },
  });
  worker.on('failed', (job, err) => deps.logger.warn({ job: job?.name, err }, 'retention job failed'));
  worker.on('error', (err) => deps.logger.error({ err }, 'retention worker error'));
  return worker;
}
