#!/usr/bin/env node
/* global process, URL */
// The `conduit` bin. npm links a bin only if its target exists at install time, and the CLI is
// built (dist/) after `npm ci`: this committed file is the target, and it runs the built CLI.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'error CONFIG: the conduit CLI is not built yet.\nhint: run `npm run build` in the repository, then try again.\n',
  );
  process.exit(2);
}
await import(cli.href);
