import type { RedisClient } from '../../adapters/redis/connection.js';
import type { Logger } from 'pino';
import { DEFAULTS, type ServerConfig } from '../../config.js';
import { FeedArchiveIndex } from '../../adapters/redis/feed-archive.js';
import type { Keys } from '../../adapters/redis/keys.js';
import { FeedCompactor } from './feed-compactor.js';
import type { FeedPageStore } from './page-store.js';

/**
 * Runs the feed compactor in the worker: now, then every interval, never two passes at once in
 * this process. Several workers may run passes together: the watermark's compare-and-set lets
 * only one of them move each page, and the others' identical PUTs change nothing.
 */
export class FeedArchiveJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly compactor: FeedCompactor,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.compactor
        .runOnce()
        .then((pages) => {
          if (pages > 0) this.logger.info({ pages }, 'feed pages archived to S3');
        })
        .catch((err: unknown) => this.logger.error({ err }, 'feed archive pass failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/** The worker's job from configuration; none when no page store is wired. */
export function feedArchiveJobOf(
  config: ServerConfig,
  redis: RedisClient,
  keys: Keys,
  pages: FeedPageStore | undefined,
  logger: Logger,
): FeedArchiveJob | undefined {
  if (!pages) return undefined;
  const settings = { ...DEFAULTS, ...config.records };
  const compactor = new FeedCompactor({
    index: new FeedArchiveIndex(redis, keys),
    pages,
    tail: { versions: settings.feedTailVersions, days: settings.feedTailDays },
    logger,
  });
  return new FeedArchiveJob(compactor, settings.feedArchiveIntervalSeconds * 1000, logger);
}
