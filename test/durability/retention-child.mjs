/* global process */
// One retention run in its own process, so the crash test can SIGKILL it mid-run.
// The configuration comes as JSON in RETENTION_CONFIG (a ServerConfig's fields the run reads).
import { S3ObjectStore, runRetentionOnce } from '@conduit/server';

const config = JSON.parse(process.env.RETENTION_CONFIG ?? '{}');
const objectStore = new S3ObjectStore(config.s3);
try {
  const summary = await runRetentionOnce(config, { objectStore });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  objectStore.close();
}
