#!/usr/bin/env node
/* global process, URL */
// The `conduit-devstack` bin. npm links a bin only if its target exists at install time, and the
// devstack is built (dist/) after `npm ci`: this committed file is the target, and it runs the build.
import { existsSync } from 'node:fs';

const main = new URL('../dist/entry/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'error CONFIG: the conduit devstack is not built yet.\nhint: run `npm run build` in the repository, then try again.\n',
  );
  process.exit(2);
}
await import(main.href);
