import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConduitClient,
  downloadAuditLog,
  exportAuditFromServer,
  HttpClient,
  login,
  verifyAuditFromServer,
} from '@conduit/client';
import { startLocalStack, type LocalStack } from '@conduit/devstack';
import { AuditRetention, closeRedis, createKeys, runAccountCommand } from '@conduit/server';
import { GENESIS_HASH } from '@conduit/shared';
import { runCli } from './support/cli.js';
import { openRedis } from './support/redis.js';
import { clientOn } from './support/stack-client.js';

// Issue 16, proof: the operator's legal holds land in the audit chain; audit retention trims the
// chain on the real server; `conduit audit verify` and `audit export` (SDK against the server, CLI
// on a saved download) verify from the retention anchor and write what an auditor reads.
describe('audit export, retention anchor and legal holds on the local stack', () => {
  let dir: string;
  let stack: LocalStack;
  let token: string;
  let deviceId: string;
  const clients: ConduitClient[] = [];
  const PASSWORD = 'auditor password 1';

  const admin = (...words: string[]) =>
    runAccountCommand(() => stack.serverConfig, words[0]!, words[1], words.slice(2));
  const exportSince = (since: Parameters<typeof exportAuditFromServer>[3]) =>
    exportAuditFromServer(stack.serverUrl, token, deviceId, since);
  const lines = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-audit-export-'));
    stack = await startLocalStack({ dataDir: join(dir, 'stack'), server: { adminIdentities: ['auditor'] } });
    const code = await admin('bootstrap', 'auditor');
    const client = await ConduitClient.open(clientOn(stack, join(dir, 'auditor'), 'auditor'));
    clients.push(client);
    await client.register(PASSWORD, code);
    deviceId = 'auditor-laptop';
    const api = new HttpClient({ baseUrl: stack.serverUrl });
    const result = await login(api, 'auditor', PASSWORD, deviceId);
    if (result.legacy) throw new Error('unexpected legacy account');
    api.setSession(result.session.token);
    await api.registerDevice(deviceId);
    token = result.session.token;
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('exports the verified chain from a seq or a time, holds included, and refuses a non-admin', async () => {
    await admin('hold', 'identity', 'dana', '--name', 'Case 7', '--reason', 'litigation', '--by', 'ops-jane');
    await admin('release', 'identity', 'dana', '--reason', 'settled', '--by', 'ops-jane');
    const all = await exportSince({ seq: 1 });
    const [header, ...records] = all.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(header).toMatchObject({
      format: 'conduit-audit-export',
      v: 1,
      since: { seq: 1 },
      base: { seq: 0, hash: GENESIS_HASH },
      verified: all.header.head.seq,
      exported: records.length,
    });
    expect(records.map((r) => r['seq'])).toEqual(Array.from({ length: all.header.head.seq }, (_, i) => i + 1));
    const placed = records.find((r) => r['type'] === 'legal-hold-placed');
    expect(placed).toMatchObject({
      hold: { kind: 'identity', id: 'dana', name: 'Case 7' },
      reason: 'litigation',
      by: 'ops-jane',
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      prev: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const released = records.find((r) => r['type'] === 'legal-hold-released')!;
    // A time selects by the entries' own `at`; a seq from that record on.
    expect((await exportSince({ at: new Date(released['at'] as string) })).header.exported).toBeGreaterThanOrEqual(1);
    expect(
      (await exportSince({ seq: released['seq'] as number })).lines.slice(1).map((l) => JSON.parse(l).type),
    ).toEqual(records.filter((r) => (r['seq'] as number) >= (released['seq'] as number)).map((r) => r['type']));

    const outsider = await ConduitClient.open(clientOn(stack, join(dir, 'mallory'), 'mallory'));
    clients.push(outsider);
    await outsider.register('mallory password');
    const session = await login(
      new HttpClient({ baseUrl: stack.serverUrl }),
      'mallory',
      'mallory password',
      'mallory-laptop',
    );
    if (session.legacy) throw new Error('unexpected legacy account');
    await expect(
      exportAuditFromServer(stack.serverUrl, session.session.token, 'mallory-laptop', { seq: 1 }),
    ).rejects.toMatchObject({
      status: 403,
    });
  });

  it('after retention trims the chain, verify and export start at the anchor; the CLI checks a saved copy', async () => {
    const before = await downloadAuditLog(stack.serverUrl, token, deviceId);
    const redis = openRedis(stack.serverConfig.redisUrl);
    try {
      const step = new AuditRetention({
        redis,
        keys: createKeys(stack.internals.redisKeyPrefix),
        holds: { list: async () => [] },
        rule: { kind: 'age', seconds: 86_400 },
      });
      const now = new Date(Date.now() + 2 * 86_400_000); // everything so far is past one day
      const result = await step.run({ now, signal: new AbortController().signal, takeDeletes: async () => {} });
      expect(result.deleted).toBe(before.head.seq);
    } finally {
      await closeRedis(redis);
    }
    await admin('hold', 'group', 'ab'.repeat(16), '--name', 'Case 8', '--reason', 'audit', '--by', 'ops-bob');

    const trimmedThrough = before.head.seq;
    const res = await fetch(`${stack.serverUrl}/v1/admin/audit?from=1`, {
      headers: { authorization: `Bearer ${token}`, 'conduit-device': deviceId },
    });
    expect(res.headers.get('conduit-audit-base')).toMatch(new RegExp(`^${trimmedThrough} [0-9a-f]{64}$`));
    expect(lines(await res.text())[0]).toMatchObject({ seq: trimmedThrough + 1 });

    const verified = await verifyAuditFromServer(stack.serverUrl, token, deviceId);
    expect(verified.base).toEqual({ seq: trimmedThrough, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const exported = await exportSince({ seq: 1 });
    expect(exported.header.base).toEqual(verified.base);
    expect(exported.lines.slice(1).map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { seq: trimmedThrough + 1, type: 'audit-trimmed', throughSeq: trimmedThrough, count: trimmedThrough, rule: '1d' },
      { seq: trimmedThrough + 2, type: 'legal-hold-placed', by: 'ops-bob' },
    ]);

    // A saved download (the server's NDJSON) carries its anchor in its audit-trimmed record.
    const saved = join(dir, 'audit.ndjson');
    await writeFile(saved, (await downloadAuditLog(stack.serverUrl, token, deviceId)).text);
    const env = { CONDUIT_HOME: join(dir, 'cli-home') };
    const verify = await runCli(['audit', 'verify', '--file', saved], env);
    expect(verify.stdout.trim()).toMatch(
      new RegExp(
        `^audit log intact: records 1\\.\\.${trimmedThrough} were trimmed by retention; verified ${trimmedThrough + 1}\\.\\.${trimmedThrough + 2}, head [0-9a-f]{64}$`,
      ),
    );
    const out = join(dir, 'export.jsonl');
    const cli = await runCli(
      ['audit', 'export', '--file', saved, '--since', String(trimmedThrough + 2), '--out', out],
      env,
    );
    expect(cli.code, cli.stderr).toBe(0);
    const written = lines(await readFile(out, 'utf8'));
    expect(written[0]).toMatchObject({ format: 'conduit-audit-export', base: verified.base, exported: 1 });
    expect(written.slice(1)).toMatchObject([{ seq: trimmedThrough + 2, type: 'legal-hold-placed' }]);

    // A changed record (not the last: a file states no head): nothing is exported, AUDIT_CHAIN_BROKEN.
    const tampered = join(dir, 'tampered.ndjson');
    await writeFile(tampered, (await readFile(saved, 'utf8')).replace('"rule":"1d"', '"rule":"9d"'));
    const refused = await runCli(
      ['--json', 'audit', 'export', '--file', tampered, '--since', '1', '--out', join(dir, 'no.jsonl')],
      env,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('AUDIT_CHAIN_BROKEN');
    await expect(stat(join(dir, 'no.jsonl'))).rejects.toMatchObject({ code: 'ENOENT' });
    // A copy with its first records cut off (no audit-trimmed record states that start) fails too.
    const cut = join(dir, 'cut.ndjson');
    await writeFile(cut, (await readFile(saved, 'utf8')).split('\n').slice(1).join('\n'));
    expect((await runCli(['audit', 'verify', '--file', cut], env)).stderr).toContain('AUDIT_CHAIN_BROKEN');
  });
});
