import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConduitError, verifyLines } from '@conduit/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../adapters/redis/keys.js';
import { TEST_REDIS_URL, deleteKeys, randomKeyPrefix, testConfig } from '../testing/fakes.js';
import { LegalHolds } from '../lifecycle/legal-holds.js';
import { AuditLog } from '../audit/audit-log.js';
import { runAccountCommand } from './account-commands.js';

// The operator's legal-hold commands against real Redis (runAccountCommand, as main.ts calls it),
// and the built binary for its usage errors (exit 2, before any configuration is read).
const prefix = randomKeyPrefix();
const keys = createKeys(prefix);
const config = testConfig(prefix);
const GROUP = 'c0'.repeat(16);
let redis: Redis;

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  await redis.quit();
  await deleteKeys(prefix);
});

const admin = (...words: string[]) => runAccountCommand(() => config, words[0] ?? '', words[1], words.slice(2));

/** The chain's entries, after checking it. */
async function chainEntries(): Promise<Record<string, unknown>[]> {
  const lines = await redis.lrange(keys.auditLog(), 0, -1);
  expect(verifyLines(lines).ok).toBe(true);
  return lines.map((l) => (JSON.parse(l) as { entry: Record<string, unknown> }).entry);
}

const usageFailure = async (words: string[]): Promise<string> => {
  const err = await admin(...words).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConduitError);
  expect((err as ConduitError).details).toEqual({ usage: true });
  return (err as ConduitError).message;
};

describe('conduit-server admin hold | release | holds', () => {
  it('places, lists and releases holds, each placement and release on the audit chain', async () => {
    expect(await admin('holds')).toBe('no legal holds');
    const placed = await admin(
      'hold',
      'group',
      GROUP,
      '--name',
      'Case 2031-7',
      '--reason',
      'litigation',
      '--by',
      'ops-jane',
    );
    expect(placed).toBe(`legal hold "Case 2031-7" placed on group ${GROUP} (audited as legal-hold-placed)`);
    expect(
      await admin('hold', 'identity', 'dana', '--name=Subpoena 12', '--reason=records request', '--by=ops-jane'),
    ).toMatch(/^legal hold "Subpoena 12" placed on identity dana/);
    // A second hold on a held subject changes nothing and writes nothing.
    expect(await admin('hold', 'group', GROUP, '--name', 'Other', '--reason', 'x', '--by', 'ops-bob')).toMatch(
      /^group (c0)+ is already under legal hold "Case 2031-7" \(placed .+ by ops-jane\); nothing changed$/,
    );
    const listed = (await admin('holds')).split('\n');
    expect(listed[0]).toBe('2 legal holds:');
    expect(listed.slice(1).sort()).toEqual([
      expect.stringMatching(
        new RegExp(`^  group ${GROUP} {2}"Case 2031-7" {2}placed \\S+ by ops-jane {2}reason: litigation$`),
      ),
      expect.stringMatching(
        /^ {2}identity dana {2}"Subpoena 12" {2}placed \S+ by ops-jane {2}reason: records request$/,
      ),
    ]);
    // What the commands placed is what erasure checks: a covered deletion is refused, naming it.
    const holds = new LegalHolds(redis, keys, new AuditLog(redis, keys));
    await expect(holds.assertNone({ groups: [GROUP] }, { action: 'group-delete', by: 'alice' })).rejects.toMatchObject({
      code: 'LEGAL_HOLD',
      details: { hold: { kind: 'group', id: GROUP, name: 'Case 2031-7' } },
    });

    expect(await admin('release', 'group', GROUP, '--reason', 'settled', '--by', 'ops-bob')).toBe(
      `legal hold "Case 2031-7" on group ${GROUP} released (audited as legal-hold-released)`,
    );
    expect(await admin('release', 'group', GROUP, '--reason', 'settled', '--by', 'ops-bob')).toBe(
      `group ${GROUP} is under no legal hold; nothing released`,
    );
    expect(await admin('holds')).toMatch(/^1 legal hold:\n {2}identity dana /);

    const entries = await chainEntries();
    expect(entries.map((e) => e['type'])).toEqual([
      'legal-hold-placed',
      'legal-hold-placed',
      'erasure-refused',
      'legal-hold-released',
    ]);
    expect(entries[0]).toMatchObject({
      hold: { kind: 'group', id: GROUP, name: 'Case 2031-7' },
      reason: 'litigation',
      by: 'ops-jane',
    });
    expect(entries[3]).toMatchObject({
      hold: { kind: 'group', id: GROUP, name: 'Case 2031-7' },
      reason: 'settled',
      by: 'ops-bob',
    });
  });

  it('refuses bad subjects, ids, flags and texts as usage errors, before touching Redis', async () => {
    const before = await redis.llen(keys.auditLog());
    const ok = ['--name', 'n', '--reason', 'r', '--by', 'b'];
    expect(await usageFailure(['hold', 'pointer', GROUP, ...ok])).toMatch(/^usage: conduit-server admin hold /);
    expect(await usageFailure(['hold', 'group', 'not-hex', ...ok])).toMatch(/^invalid group id/);
    expect(await usageFailure(['hold', 'identity', 'Bad Name!', ...ok])).toMatch(/^invalid identity id/);
    expect(await usageFailure(['hold', 'group'])).toMatch(/^missing group id/);
    expect(await usageFailure(['hold', 'group', GROUP, '--name', 'n', '--by', 'b'])).toMatch(/^missing --reason/);
    expect(await usageFailure(['hold', 'group', GROUP, ...ok, '--force'])).toMatch(/^unknown argument --force/);
    expect(await usageFailure(['hold', 'group', GROUP, ...ok, '--by', 'c'])).toMatch(/^--by given twice/);
    expect(await usageFailure(['hold', 'group', GROUP, '--name', 'n', '--reason', 'r', '--by'])).toMatch(
      /needs a value/,
    );
    expect(
      await usageFailure(['hold', 'group', GROUP, '--name', 'x'.repeat(201), '--reason', 'r', '--by', 'b']),
    ).toMatch(/^--name takes 1 to 200 characters/);
    expect(await usageFailure(['hold', 'group', GROUP, '--name', 'a\nb', '--reason', 'r', '--by', 'b'])).toMatch(
      /no control characters/,
    );
    expect(await usageFailure(['hold', 'group', GROUP, '--name', '  ', '--reason', 'r', '--by', 'b'])).toMatch(
      /^--name/,
    );
    expect(await usageFailure(['release', 'group', GROUP, '--name', 'n', '--reason', 'r', '--by', 'b'])).toMatch(
      /^unknown argument --name/,
    );
    expect(await usageFailure(['holds', 'extra'])).toBe('usage: conduit-server admin holds');
    expect(await usageFailure(['nonsense'])).toContain('conduit-server admin holds');
    expect(await redis.llen(keys.auditLog())).toBe(before);
  });

  it('the binary exits 2 on a usage error and lists the hold commands in its usage', async () => {
    const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
    const runBin = (...args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [main, 'admin', ...args], {
          env: { PATH: process.env.PATH },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
    const bad = await runBin('hold', 'group', 'zz', '--name', 'n', '--reason', 'r', '--by', 'b');
    expect(bad).toEqual({ code: 2, stderr: expect.stringMatching(/^conduit-server: invalid group id \(usage: /) });
    const bare = await runBin();
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('conduit-server admin release <group|identity> <id> --reason <text> --by <operator>');
  });
});
