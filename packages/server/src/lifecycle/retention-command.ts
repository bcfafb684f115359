import { S3FeedPages } from '../adapters/s3/s3-feed-pages.js';
import { S3ObjectStore } from '../adapters/s3/s3-object-store.js';
import type { ServerConfig } from '../config.js';
import { createLogger } from '../logger.js';
import type { RetentionSummary } from './retention-job.js';
import { runRetentionOnce } from './retention-wiring.js';

/** `conduit-server admin retention-run`: one retention run now, whatever the schedule; its summary. */
export async function retentionRunCommand(config: ServerConfig): Promise<string> {
  const objectStore = new S3ObjectStore(config.s3);
  const feedPages = new S3FeedPages(config.s3);
  try {
    return formatSummary(await runRetentionOnce(config, { objectStore, feedPages, logger: createLogger('warn') }));
  } finally {
    objectStore.close();
    feedPages.close();
  }
}

export function formatSummary(summary: RetentionSummary): string {
  const lines = [`retention run ${summary.outcome}: ${summary.startedAt} .. ${summary.finishedAt}`];
  for (const [name, r] of Object.entries(summary.steps)) {
    const held = Object.entries(r.held).map(([hold, n]) => `${hold}=${n}`);
    lines.push(
      `  ${name.padEnd(8)} deleted ${r.deleted} (${r.bytes} bytes), failed ${r.failed}, held ${held.length > 0 ? held.join(' ') : 0}`,
    );
  }
  return lines.join('\n');
}
