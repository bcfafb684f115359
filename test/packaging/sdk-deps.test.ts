import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

// Issue 12: installing the SDK must not install the server side. scripts/check-sdk-deps.mjs packs
// @conduit/client with the workspace packages it needs, installs the tarballs into an empty folder
// and lists every dependency path from the SDK to a forbidden package (server, devstack, CLI,
// express, bullmq, s3rver, ioredis). It packs dist/, which `npm test` builds first.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../scripts/check-sdk-deps.mjs', import.meta.url));

it(
  "the SDK's production dependency tree holds no server-side package",
  async () => {
    const result = await promisify(execFile)(process.execPath, [SCRIPT, '--root', ROOT]).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? -1,
        out: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    );
    // On failure the message shows the offending paths, e.g. "@conduit/client > @conduit/devstack".
    expect(result.out, result.out).toContain('is clean');
    // The size of what an SDK user installs, in CI's log (issue 15).
    console.log(result.out.trim());
    expect(result.code).toBe(0);
  },
  // A cold install of today's tree can take over a minute on a loaded 2-core machine.
  180_000,
);
