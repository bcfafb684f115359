import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientOptions, homeDir } from './config.js';
import { ENV } from './env.js';
import { activeProfile, configDir, PROFILE_VARIABLES, readProfiles, writeProfiles } from './profiles.js';

// Issue 15 item 7: profiles live in the user's config folder (XDG_CONFIG_HOME on Linux), 0600,
// hold no secrets, and rank below flags and variables but above a local stack.
let xdg: string;
const saved = process.env.XDG_CONFIG_HOME;
const log = () => {};

beforeAll(async () => {
  xdg = await mkdtemp(join(tmpdir(), 'conduit-profiles-'));
  process.env.XDG_CONFIG_HOME = xdg;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = saved;
  await rm(xdg, { recursive: true, force: true });
});
beforeEach(() =>
  writeProfiles({
    version: 1,
    default: 'work',
    profiles: {
      work: { CONDUIT_SERVER_URL: 'https://work.example', CONDUIT_IDENTITY: 'alice', CONDUIT_HOME: '/tmp/work-home' },
      lab: { CONDUIT_SERVER_URL: 'https://lab.example', CONDUIT_TWILSOCK_URI: 'wss://lab.example/v3/wsconnect' },
    },
  }),
);

describe('profiles', () => {
  it('are stored in $XDG_CONFIG_HOME/conduit, owner-only', async () => {
    expect(configDir()).toBe(join(xdg, 'conduit'));
    const path = join(xdg, 'conduit', 'profiles.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(xdg, 'conduit'))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ default: 'work' });
  });

  it('name the connection variables of the ENV table, never the password', () => {
    expect(PROFILE_VARIABLES).toContain(ENV.server);
    expect(PROFILE_VARIABLES).toContain(ENV.twilsockUri);
    expect(PROFILE_VARIABLES).not.toContain(ENV.password);
    expect(() => writeProfiles({ version: 1, profiles: { bad: { [ENV.password]: 'secret password' } } })).toThrow();
  });

  it('take precedence: flags, then variables, then the profile', () => {
    expect(clientOptions({}, log, {})).toMatchObject({ serverUrl: 'https://work.example', identity: 'alice' });
    expect(homeDir({}, {})).toBe('/tmp/work-home');
    const env = { [ENV.server]: 'https://env.example' };
    expect(clientOptions({}, log, env)).toMatchObject({ serverUrl: 'https://env.example', identity: 'alice' });
    expect(clientOptions({ server: 'https://flag.example' }, log, env).serverUrl).toBe('https://flag.example');
  });

  it('are chosen by --profile, then CONDUIT_PROFILE, then the default', () => {
    expect(activeProfile(undefined, {})?.name).toBe('work');
    expect(activeProfile(undefined, { [ENV.profile]: 'lab' })?.name).toBe('lab');
    expect(activeProfile('work', { [ENV.profile]: 'lab' })?.name).toBe('work');
    expect(clientOptions({ profile: 'lab', as: 'bob' }, log, {})).toMatchObject({
      serverUrl: 'https://lab.example',
      twilsockUri: 'wss://lab.example/v3/wsconnect',
    });
    expect(() => activeProfile('nope', {})).toThrow(/No profile named nope/);
  });

  it('refuse a corrupt file with CONFIG rather than guessing', async () => {
    await writeFile(join(xdg, 'conduit', 'profiles.json'), '{"version":1,"profiles":{"x":{"EVIL":"1"}}}');
    expect(() => readProfiles()).toThrow(/Corrupt profiles file/);
  });
});
