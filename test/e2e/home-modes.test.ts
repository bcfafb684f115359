import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '@conduit/devstack';

// Issue 11 item 12: everything Conduit writes under its home is owner-only (files 0600, folders
// 0700), including what libraries create (SQLite's replica, E3Kit's group store), after a send,
// a receive and records written and read.
const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

let dir: string;
let stack: LocalStack;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-modes-'));
  stack = await startLocalStack({ dataDir: join(dir, 'stack') });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The CLI as `identity` with its own home; fails the test on a non-zero exit. */
function cli(identity: string, args: string[]): Promise<string> {
  const env = {
    ...process.env,
    ...stack.clientEnv,
    CONDUIT_HOME: join(dir, `home-${identity}`),
    CONDUIT_PASSWORD: `${identity}-secret-123`,
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, '--json', '--as', identity, ...args], { env, timeout: 60_000 }, (err, out, e) =>
      err ? reject(new Error(`conduit ${args.join(' ')}: ${e}`)) : resolve(out),
    );
  });
}

/** Every entry under `root` whose mode is not 0700 (folders) or 0600 (files), with its mode. */
async function notPrivate(root: string): Promise<string[]> {
  const wrong: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const st = await lstat(path);
    const mode = st.mode & 0o777;
    if (st.isDirectory()) {
      if (mode !== 0o700) wrong.push(`${path} ${mode.toString(8)}`);
      for (const name of await readdir(path)) await walk(join(path, name));
    } else if (!st.isFile() || mode !== 0o600) {
      wrong.push(`${path} ${st.isFile() ? mode.toString(8) : 'not a file'}`);
    }
  };
  await walk(root);
  return wrong;
}

describe('the home folder', () => {
  it('holds only owner-only files and folders after send, receive and records', async () => {
    await cli('alice', ['register']);
    await cli('bob', ['register']);
    const { groupId } = JSON.parse(await cli('alice', ['group', 'create', 'bob'])) as { groupId: string };
    const file = join(dir, 'report.txt');
    await writeFile(file, 'the report');
    await cli('alice', ['send', groupId, file]);
    await cli('bob', ['receive', groupId, '--out', join(dir, 'inbox'), '--mkdir', '--once', '--timeout', '30']);
    await cli('alice', ['record', 'put', groupId, 'patient-42', '{"allergies":["penicillin"]}']);
    const got = JSON.parse(await cli('bob', ['record', 'get', groupId, 'patient-42'])) as { value: unknown };
    expect(got.value).toEqual({ allergies: ['penicillin'] });

    for (const identity of ['alice', 'bob']) {
      const home = join(dir, `home-${identity}`);
      expect((await readdir(join(home, identity))).sort()).toContain('records.sqlite');
      expect(await notPrivate(home)).toEqual([]);
    }
  }, 120_000);
});
