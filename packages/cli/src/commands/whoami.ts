import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { output } from '../program/output.js';
import { clientOptions, ENV, homeDir, type GlobalOptions } from '../settings/config.js';
import { activeProfile } from '../settings/profiles.js';
import { identityHome } from '../settings/identity-home.js';

/** `conduit whoami`: who and where this shell acts, from local settings only (creates nothing). */
export function addWhoamiCommand(program: Command): void {
  program
    .command('whoami')
    .description('print the identity, profile, this device, the server URL, the home folder and the session')
    .action(async (_opts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { identity, dir } = identityHome(g);
      const deviceId = stringField(await readJson(join(dir, 'device.json')), 'deviceId');
      const expiresAt = stringField(await readJson(join(dir, 'session.json')), 'expiresAt');
      // An expired access token is renewed on use while the device's refresh token is valid.
      const session = expiresAt ? { expiresAt, expired: Date.parse(expiresAt) <= Date.now() } : null;
      const profile = activeProfile(g.profile)?.name ?? null;
      const info = {
        identity,
        profile,
        deviceId: deviceId ?? null,
        serverUrl: serverUrlOf(g),
        home: homeDir(g),
      };
      output(g, { ...info, session }, [
        `identity  ${identity}`,
        `profile   ${profile ?? '(none)'}`,
        `device    ${deviceId ?? '(none yet: `conduit register` or `conduit login` creates it)'}`,
        `server    ${info.serverUrl ?? `(not set: --server or ${ENV.server})`}`,
        `home      ${info.home}`,
        `session   ${sessionLine(session)}`,
      ]);
    });
}

function sessionLine(session: { expiresAt: string; expired: boolean } | null): string {
  if (!session) return 'not logged in (`conduit login`)';
  if (!session.expired) return `logged in (access token until ${session.expiresAt}, renewed on use)`;
  return `access token expired at ${session.expiresAt}: renewed on next use while this device's refresh token is valid`;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function stringField(value: unknown, key: string): string | undefined {
  const field = (value as Record<string, unknown> | undefined)?.[key];
  return typeof field === 'string' ? field : undefined;
}

/** The server the other commands would use (null when none is configured). */
function serverUrlOf(g: GlobalOptions): string | null {
  try {
    return clientOptions(g, () => undefined).serverUrl;
  } catch {
    return null;
  }
}
