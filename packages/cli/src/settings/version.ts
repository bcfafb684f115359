import { createRequire } from 'node:module';

/** The CLI package's version, as `conduit --version` prints it (read from its package.json). */
export const CLI_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;
