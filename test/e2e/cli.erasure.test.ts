import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { runCli } from './support/cli.js';
import { clientOn } from './support/stack-client.js';

// `conduit rm` and `conduit group delete` as a script runs them (no terminal): JSON results, the
// confirmation rule of group delete, and the exit codes of refusals.
describe('cli: conduit rm and conduit group delete', () => {
  let dir: string;
  let stack: LocalStack;
  let groupId: string;
  const PW = { alice: 'alice password 1', bob: 'bob password 123' };
  const env = (who: 'alice' | 'bob') => ({
    ...stack.clientEnv,
    CONDUIT_HOME: join(dir, `${who}-home`),
    CONDUIT_IDENTITY: who,
    CONDUIT_PASSWORD: PW[who],
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-cli-erasure-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    const open = (who: 'alice' | 'bob') => ConduitClient.open(clientOn(stack, join(dir, `${who}-home`), who));
    const bob = await open('bob');
    await bob.register(PW.bob);
    await bob.close();
    const alice = await open('alice');
    await alice.register(PW.alice);
    groupId = (await alice.createGroup(['bob'])).groupId;
    await alice.close();
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('rm: a member who did not send it exits 3 (FORBIDDEN); the sender withdraws (twice alike)', async () => {
    await writeFile(join(dir, 'a.txt'), 'hello');
    const sent = await runCli(['--json', 'send', groupId, join(dir, 'a.txt')], env('alice'));
    expect(sent.code).toBe(0);
    const { pointerId } = JSON.parse(sent.stdout) as { pointerId: string };
    const refused = await runCli(['--json', 'rm', pointerId], env('bob'));
    expect(refused.code).toBe(3);
    expect(refused.stdout + refused.stderr).toContain('FORBIDDEN');
    const first = await runCli(['--json', 'rm', pointerId], env('alice'));
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ pointerId, groupId, state: 'withdrawn', withdrawnBy: 'alice' });
    const again = await runCli(['--json', 'rm', pointerId], env('alice'));
    expect(JSON.parse(again.stdout)).toEqual(JSON.parse(first.stdout));
  });

  it('group delete: without a terminal it needs --yes (exit 2, nothing deleted); with it the group goes', async () => {
    const refused = await runCli(['group', 'delete', groupId], env('alice'));
    expect(refused.code).toBe(2);
    expect((await runCli(['--json', 'group', 'show', groupId], env('alice'))).code).toBe(0);
    const deleted = await runCli(['--json', 'group', 'delete', groupId, '--yes'], env('alice'));
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toEqual({ groupId, state: 'deleting' });
    const gone = await runCli(['--json', 'group', 'show', groupId], env('bob'));
    expect(gone.code).toBe(4); // GROUP_NOT_FOUND
  });
});
