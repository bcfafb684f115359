import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

// Issue 15 item 7: `conduit profile` saves, lists, switches and removes named connection settings
// in $XDG_CONFIG_HOME/conduit/profiles.json (0600, no password), and `whoami` names the profile.
describe('conduit profile', () => {
  let dir: string;
  const env = () => ({ XDG_CONFIG_HOME: join(dir, 'config'), CONDUIT_PASSWORD: 'never stored 123' });
  const json = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = await runCli(['--json', ...args], { ...env(), ...extra });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-profiles-e2e-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('add, list, use, whoami, remove', async () => {
    const work = ['--server', 'https://work.example', '--as', 'alice', '--home', join(dir, 'home')];
    await json([...work, 'profile', 'add', 'work', '--default']);
    await json([
      'profile',
      'add',
      'lab',
      '--set',
      'CONDUIT_SERVER_URL=https://lab.example',
      '--set',
      'CONDUIT_IDENTITY=bob',
    ]);
    const file = join(dir, 'config', 'conduit', 'profiles.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).not.toContain('never stored');

    expect(await json(['profile', 'list'])).toEqual({ default: 'work', profiles: ['lab', 'work'] });
    expect(await json(['whoami'])).toMatchObject({
      profile: 'work',
      identity: 'alice',
      serverUrl: 'https://work.example',
    });
    expect(await json(['--profile', 'lab', 'whoami'])).toMatchObject({ profile: 'lab', identity: 'bob' });
    expect(await json(['whoami'], { CONDUIT_PROFILE: 'lab', CONDUIT_SERVER_URL: 'https://env.example' })).toMatchObject(
      {
        profile: 'lab',
        serverUrl: 'https://env.example',
      },
    );

    await json(['profile', 'use', 'lab']);
    expect(await json(['profile', 'show'])).toMatchObject({ name: 'lab', values: { CONDUIT_IDENTITY: 'bob' } });
    await json(['profile', 'remove', 'lab']);
    expect(await json(['profile', 'list'])).toEqual({ default: null, profiles: ['work'] });

    const bad = await runCli(['profile', 'add', 'x', '--set', 'CONDUIT_PASSWORD=secret'], env());
    expect(bad.code).toBe(2);
    const missing = await runCli(['--profile', 'gone', 'whoami'], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No profile named gone/);
  });
});
