import type { Logger } from 'pino';
import { checkReadiness, type ReadinessCheck, type ReadinessReport } from './readiness.js';

/** How long one probe's answer serves /readyz: probes run at most this often, whatever the request rate. */
export const READINESS_MAX_AGE_MS = 2_000;

/**
 * /readyz from a cached probe. Each probe costs a Redis PING, an S3 HeadBucket and a Sync REST
 * call (which counts against Twilio's rate limits): answered per request, anyone could turn a
 * flood of unauthenticated probes into load on all three. A stale report is refreshed on the next
 * request; concurrent requests share that one refresh.
 */
export class ReadinessCache {
  private report: { value: ReadinessReport; at: number } | undefined;
  private refreshing: Promise<ReadinessReport> | undefined;

  constructor(
    private readonly checks: Record<string, ReadinessCheck>,
    private readonly logger: Logger,
    private readonly maxAgeMs = READINESS_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  current(): Promise<ReadinessReport> {
    if (this.report && this.now() - this.report.at < this.maxAgeMs) return Promise.resolve(this.report.value);
    this.refreshing ??= checkReadiness(this.checks, this.logger)
      .then((value) => {
        this.report = { value, at: this.now() };
        return value;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}
