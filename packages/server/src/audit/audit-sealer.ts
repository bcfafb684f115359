import type { Logger } from 'pino';
import type { AuditLog } from './audit-log.js';

/** How often pending entries are looked for when nobody kicks (crash leftovers, other processes). */
const DEFAULT_INTERVAL_MS = 250;

/**
 * Runs in every worker: seals the audit entries that ledger scripts leave pending (deletion
 * receipts, failed purges). The ledger kicks it after each such transition; the interval picks up
 * whatever a crashed process or another process without a sealer left behind. Any number of
 * sealers may run at once (seal.ts), and an entry stays pending, never lost, while sealing fails.
 */
export class AuditSealer {
  private timer: NodeJS.Timeout | undefined;
  private last: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.kick(), this.intervalMs);
    this.kick();
  }

  /**
   * Seals soon (joins the round in progress, or the one after it): the shard whose pending list
   * just grew, or every shard. No-op unless started.
   */
  kick(shard?: number): void {
    if (!this.timer) return;
    this.last = this.audit.seal(shard === undefined ? 'all' : [shard]).then(
      () => {
        if (this.failing) this.logger.info('audit sealing recovered');
        this.failing = false;
      },
      (err: unknown) => {
        // Once per outage, not once per tick; the entries wait on the pending list.
        if (!this.failing) this.logger.error({ err }, 'audit sealing failed; entries stay pending');
        this.failing = true;
      },
    );
  }

  /** Stops the interval and waits for the round in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.last;
  }
}
