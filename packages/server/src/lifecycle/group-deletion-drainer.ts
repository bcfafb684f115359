import type { Logger } from 'pino';
import type { GroupDeletion } from './group-deletion.js';

export interface GroupDeletionDrainerTuning {
  /** How often the to-do lists are read (ms). */
  intervalMs: number;
  /** Backoff of a group whose run failed: base and cap (ms), doubling per failure. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_GROUP_DELETION_TUNING: GroupDeletionDrainerTuning = {
  intervalMs: 1_000,
  backoffBaseMs: 2_000,
  backoffMaxMs: 5 * 60_000,
};

/**
 * The worker's loop over the durable to-do lists of group deletions (GroupDeletion.due): each group
 * is run to the end; one that fails (S3 or Sync down) or that a legal hold now covers is tried
 * again later with backoff. The lists live in Redis, so a worker killed anywhere leaves its groups
 * listed and the next worker finishes them (every step is idempotent).
 */
export class GroupDeletionDrainer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  /** Per group: failures so far and when it may run again (ms). Memory only: a restart retries at once. */
  private readonly backoff = new Map<string, { failures: number; notBefore: number }>();

  constructor(
    private readonly deletion: Pick<GroupDeletion, 'due' | 'run'>,
    private readonly logger: Logger,
    private readonly tuning: GroupDeletionDrainerTuning = DEFAULT_GROUP_DELETION_TUNING,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.drain()
        .catch((err: unknown) => this.logger.warn({ err }, 'group deletions: pass failed; the next pass retries'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.tuning.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: runs every due group not backing off. */
  async drain(now = Date.now): Promise<number> {
    let finished = 0;
    for (const groupId of await this.deletion.due()) {
      if (this.stopped) break;
      if ((this.backoff.get(groupId)?.notBefore ?? 0) > now()) continue;
      try {
        const outcome = await this.deletion.run(groupId);
        if (outcome === 'held') {
          this.delay(groupId, now());
          continue;
        }
        this.backoff.delete(groupId);
        if (outcome === 'deleted') {
          finished += 1;
          this.logger.info({ groupId }, 'group deleted');
        }
      } catch (err) {
        this.delay(groupId, now());
        this.logger.warn({ err, groupId }, 'group deletion failed; retried with backoff');
      }
    }
    return finished;
  }

  private delay(groupId: string, at: number): void {
    const failures = (this.backoff.get(groupId)?.failures ?? 0) + 1;
    const ms = Math.min(this.tuning.backoffMaxMs, this.tuning.backoffBaseMs * 2 ** (failures - 1));
    this.backoff.set(groupId, { failures, notBefore: at + ms });
  }
}
