/**
 * Child-process entry that runs s3rver. It lives in its own process because s3rver installs
 * process-wide exception handlers and needs `--openssl-legacy-provider` for paged listings
 * (see shared/reference/s3-local.md), and so that S3 traffic never competes with the API's event loop.
 */
import S3rver from 's3rver';
import { MultipartStore } from './multipart-store.js';
import { s3Extensions } from './s3-extensions.js';

const [directory, bucket, address, port] = process.argv.slice(2);
if (!directory || !bucket || !address || port === undefined) {
  console.error('usage: s3-process <directory> <bucket> <address> <port>');
  process.exit(2);
}

const server = new S3rver({
  address,
  port: Number(port),
  directory,
  silent: true,
  configureBuckets: [{ name: bucket }],
});
// Multipart completion without s3rver's copy of every part (multipart-store.ts says why).
server.store = server.context.store = new MultipartStore(directory);
// What s3rver's router refuses or checks less than S3 (s3-extensions.ts), answered before it.
server.middleware.splice(server.middleware.length - 1, 0, s3Extensions);

const info = await server.run();
process.send?.({ port: info.port });

const stop = () => void server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent died or closed the channel: never outlive it.
process.on('disconnect', stop);
