import type { Logger } from 'pino';
import type { UploadRepository } from './upload-repository.js';
import type { UploadService } from './upload-service.js';

export interface UploadCleanerTuning {
  intervalMs: number;
  /** How long a claimed upload is hidden from other sweeps; a failed abort is retried after it. */
  leaseMs: number;
  batchSize: number;
}

export const DEFAULT_UPLOAD_CLEANER_TUNING: UploadCleanerTuning = {
  intervalMs: 60_000,
  leaseMs: 5 * 60_000,
  batchSize: 100,
};

/**
 * Aborts multipart uploads past their expiry and drops their records. The due set lives in Redis
 * (sorted by expiry), so the work survives restarts; claims are leased, so several workers can
 * sweep at once and a crash only delays an upload by one lease. Every step is idempotent: an
 * upload aborted twice is 'absent' the second time.
 */
export class UploadCleaner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: {
      repo: UploadRepository;
      uploads: UploadService;
      logger: Logger;
      tuning: UploadCleanerTuning;
      now?: () => Date;
    },
  ) {}

  /** Sweeps now, then every interval (never two sweeps at once in this process). */
  start(): void {
    const tick = () => {
      this.running = this.sweep()
        .catch((err: unknown) => this.deps.logger.error({ err }, 'upload sweep failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.tuning.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Releases every upload due at `now`; returns how many were released. */
  async sweep(): Promise<number> {
    const { repo, uploads, logger, tuning } = this.deps;
    let released = 0;
    for (;;) {
      const now = this.deps.now?.() ?? new Date();
      const due = await repo.claimDue(now, tuning.leaseMs, tuning.batchSize);
      for (const uploadId of due) {
        try {
          const upload = await repo.get(uploadId);
          if (!upload) {
            // The record is gone (backstop TTL): only its expiry entry is left.
            await repo.remove(uploadId);
            continue;
          }
          // Completed meanwhile: completion already took it off the due set.
          if (upload.state !== 'open') continue;
          const outcome = await uploads.release(upload);
          released++;
          logger.info({ uploadId, outcome }, 'expired upload released');
        } catch (err) {
          // Left leased: the next sweep after the lease retries it.
          logger.warn({ err, uploadId }, 'expired upload not released; will retry');
        }
      }
      if (due.length < tuning.batchSize || this.stopped) return released;
    }
  }
}
