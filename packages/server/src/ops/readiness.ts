import type { Logger } from 'pino';

/** One dependency probe: resolves when the dependency answered. */
export type ReadinessCheck = () => Promise<unknown>;

export interface ReadinessReport {
  ready: boolean;
  /** Dependency name -> 'ok' | 'fail'; never error text (it could name hosts or carry request data). */
  checks: Record<string, 'ok' | 'fail'>;
}

const DEFAULT_TIMEOUT_MS = 3_000;

/**
 * Runs every probe in parallel, each bounded by a timeout so a hung dependency makes the process
 * "not ready" instead of hanging the orchestrator's probe.
 */
export async function checkReadiness(
  checks: Record<string, ReadinessCheck>,
  logger: Logger,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<ReadinessReport> {
  const names = Object.keys(checks);
  const results = await Promise.allSettled(names.map((name) => withTimeout(checks[name]!(), timeoutMs)));
  const report: ReadinessReport = { ready: true, checks: {} };
  results.forEach((result, i) => {
    const name = names[i]!;
    if (result.status === 'fulfilled') {
      report.checks[name] = 'ok';
    } else {
      report.ready = false;
      report.checks[name] = 'fail';
      logger.warn({ dependency: name, err: result.reason }, 'readiness check failed');
    }
  });
  return report;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
