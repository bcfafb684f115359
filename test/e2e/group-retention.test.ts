import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConduitClient, ConduitError } from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import type { GroupRetentionPolicy, GroupRetentionView } from '@conduit/shared';
import { runCli } from './support/cli.js';
import { clientOn } from './support/stack-client.js';

// Issue 16, group retention policies from the SDK and the CLI on the real local stack: the owner
// sets, members read, members cannot set, outsiders see nothing, {} clears, and a malformed rule is
// refused by the client before any request. The deployment's rules are the default (`keep`).
describe('group retention policies (SDK and CLI)', () => {
  let dir: string;
  let stack: LocalStack;
  const clients: ConduitClient[] = [];
  const PW = { alice: 'alice password 1', bob: 'bob password 123', carol: 'carol password 1' };
  type Who = keyof typeof PW;
  let alice: ConduitClient;
  let bob: ConduitClient;
  let carol: ConduitClient;
  let groupId: string;
  const NAME = 'Retention ward';

  const open = async (who: Who) => {
    const client = await ConduitClient.open({
      ...clientOn(stack, join(dir, `${who}-sdk`), who),
      keyPassword: async () => PW[who],
    });
    clients.push(client);
    await client.register(PW[who]);
    return client;
  };
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (err: unknown) => (err instanceof ConduitError ? err.code : `not a ConduitError: ${String(err)}`),
    );
  const DEPLOYMENT = { rule: 'keep', source: 'deployment' } as const;
  const viewOf = (policy: GroupRetentionPolicy, effective: GroupRetentionView['effective']): GroupRetentionView => ({
    groupId,
    policy,
    effective,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-group-retention-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack') });
    alice = await open('alice');
    bob = await open('bob');
    carol = await open('carol');
    groupId = (await alice.createGroup(['bob'], { name: NAME })).groupId;
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("members read the deployment's rules until the owner sets the group's own", async () => {
    const view = viewOf({}, { files: DEPLOYMENT, records: DEPLOYMENT });
    expect(await bob.groupRetention(groupId)).toEqual(view);
    expect(await alice.groupRetention(groupId)).toEqual(view);
  });

  it('the owner sets rules, stored canonically, and members read them', async () => {
    const set = await alice.setGroupRetention(groupId, { files: 'delivered+48h', records: '6y' });
    const expected = viewOf(
      { files: 'delivered+2d', records: '6y' },
      { files: { rule: 'delivered+2d', source: 'group' }, records: { rule: '6y', source: 'group' } },
    );
    expect(set).toEqual(expected);
    expect(await bob.groupRetention(groupId)).toEqual(expected);
  });

  it('a member cannot set them; an outsider cannot see or set them', async () => {
    const before = await alice.groupRetention(groupId);
    expect(await codeOf(bob.setGroupRetention(groupId, { files: '1h' }))).toBe('FORBIDDEN');
    expect(await codeOf(bob.setGroupRetention(groupId, {}))).toBe('FORBIDDEN');
    expect(await codeOf(carol.groupRetention(groupId))).toBe('GROUP_NOT_FOUND');
    expect(await codeOf(carol.setGroupRetention(groupId, { files: '1h' }))).toBe('GROUP_NOT_FOUND');
    expect(await alice.groupRetention(groupId)).toEqual(before);
  });

  it('a malformed rule is refused by the client, before any request', async () => {
    const before = await alice.groupRetention(groupId);
    // Sent, these would be refused by the server with FORBIDDEN (bob) and GROUP_NOT_FOUND (carol):
    // the server checks the caller before the body. VALIDATION_FAILED shows no request was made.
    expect(await codeOf(bob.setGroupRetention(groupId, { records: 'delivered+7d' }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(carol.setGroupRetention(groupId, { files: '30x' }))).toBe('VALIDATION_FAILED');
    const bad = [{ files: '0d' }, { records: '1001y' }, { audit: '1y' }, null] as unknown as GroupRetentionPolicy[];
    for (const policy of bad) {
      expect(await codeOf(alice.setGroupRetention(groupId, policy)), JSON.stringify(policy)).toBe('VALIDATION_FAILED');
    }
    expect(await codeOf(alice.setGroupRetention('not-a-group', {}))).toBe('VALIDATION_FAILED');
    expect(await codeOf(alice.groupRetention('../groups'))).toBe('VALIDATION_FAILED');
    expect(await alice.groupRetention(groupId)).toEqual(before);
  });

  it('{} clears the group rules: both classes follow the deployment again', async () => {
    const cleared = viewOf({}, { files: DEPLOYMENT, records: DEPLOYMENT });
    expect(await alice.setGroupRetention(groupId, {})).toEqual(cleared);
    expect(await bob.groupRetention(groupId)).toEqual(cleared);
  });

  it('`conduit group retention` shows and sets the rules (by name), refuses members and bad rules', async () => {
    const env = (who: Who) => ({
      ...stack.clientEnv,
      CONDUIT_HOME: join(dir, `${who}-cli`),
      CONDUIT_IDENTITY: who,
      CONDUIT_PASSWORD: PW[who],
    });
    const run = async (who: Who, args: string[]) => runCli(args, env(who), { timeoutMs: 90_000 });
    for (const who of ['alice', 'bob'] as const) {
      const login = await run(who, ['login']);
      expect(login.code, login.stderr).toBe(0);
    }

    const shown = await run('bob', ['group', 'retention', groupId]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.trim().split('\n')).toEqual(['files: keep (deployment)', 'records: keep (deployment)']);

    const records = await run('alice', ['group', 'retention', NAME, '--records', '48h']);
    expect(records.code, records.stderr).toBe(0);
    expect(records.stdout.trim().split('\n')).toEqual(['files: keep (deployment)', 'records: 2d (group)']);
    // --files changes the files' rule only: the records' rule set above stays.
    const files = await run('alice', ['group', 'retention', NAME, '--files', '30d', '--json']);
    expect(files.code, files.stderr).toBe(0);
    const both = viewOf(
      { files: '30d', records: '2d' },
      { files: { rule: '30d', source: 'group' }, records: { rule: '2d', source: 'group' } },
    );
    expect(JSON.parse(files.stdout)).toEqual(both);
    expect(await bob.groupRetention(groupId)).toEqual(both);

    // A member: FORBIDDEN from the server, exit 3 (output/errors.ts); nothing changed.
    const refused = await run('bob', ['group', 'retention', groupId, '--files', '1h']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('FORBIDDEN');
    // A malformed rule: a usage error (exit 2) before anything runs.
    const malformed = await run('alice', ['group', 'retention', NAME, '--records', 'delivered+1d']);
    expect(malformed.code).toBe(2);
    expect(await alice.groupRetention(groupId)).toEqual(both);

    const cleared = await run('alice', ['group', 'retention', NAME, '--clear']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout.trim().split('\n')).toEqual(['files: keep (deployment)', 'records: keep (deployment)']);
    expect((await bob.groupRetention(groupId)).policy).toEqual({});
  });
});
