import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConduitError } from '@conduit/shared';
import envPaths from 'env-paths';
import { z } from 'zod';
import { ENV } from './env.js';

/**
 * CLI profiles: named connection settings in the user's config folder (`$XDG_CONFIG_HOME/conduit`
 * on Linux, the platform's equivalent elsewhere), one file `profiles.json` (0600). A profile holds
 * values of the CONDUIT_* variables the ENV table names, so a setting added there can be kept in a
 * profile at once; the password and debug switches never are (no secrets in this file).
 */
export const PROFILE_FILE = 'profiles.json';
const NOT_IN_PROFILES = new Set<string>([ENV.password, ENV.debug, ENV.profile]);
/** The variables a profile may set. */
export const PROFILE_VARIABLES: readonly string[] = Object.values(ENV).filter((v) => !NOT_IN_PROFILES.has(v));
const MAX_FILE_BYTES = 256 * 1024;
const MAX_PROFILES = 100;

export const ProfileName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits and . _ - (up to 64)');
const Values = z.record(
  z.string().refine((key) => PROFILE_VARIABLES.includes(key), 'not a profile setting'),
  z.string().min(1).max(4096),
);
export type ProfileValues = z.infer<typeof Values>;
const ProfilesFile = z.strictObject({
  version: z.literal(1),
  default: ProfileName.optional(),
  profiles: z.record(ProfileName, Values).refine((p) => Object.keys(p).length <= MAX_PROFILES, 'too many profiles'),
});
export type Profiles = z.infer<typeof ProfilesFile>;

/** The folder of the CLI's configuration (env-paths, which honours XDG_CONFIG_HOME on Linux). */
export function configDir(): string {
  return envPaths('conduit', { suffix: '' }).config;
}

export function readProfiles(): Profiles {
  const path = join(configDir(), PROFILE_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { version: 1, profiles: {} };
    throw new ConduitError('CONFIG', `Cannot read the profiles file ${path} (${code ?? 'error'}).`, undefined, {
      cause: err,
    });
  }
  let parsed: ReturnType<typeof ProfilesFile.safeParse> | undefined;
  if (text.length <= MAX_FILE_BYTES) {
    try {
      parsed = ProfilesFile.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
  }
  if (!parsed?.success) throw new ConduitError('CONFIG', `Corrupt profiles file: ${path} (fix or remove it).`);
  return parsed.data;
}

/** Replaces the file atomically, owner-only (0600 in a 0700 folder). */
export function writeProfiles(profiles: Profiles): void {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, PROFILE_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(ProfilesFile.parse(profiles), null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
}

/** The profile in effect: --profile, else CONDUIT_PROFILE, else the default one; none without any. */
export function activeProfile(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { name: string; values: ProfileValues } | undefined {
  const named = flag ?? (env[ENV.profile] || undefined);
  let profiles: Profiles;
  try {
    profiles = readProfiles();
  } catch (err) {
    // Another user's config folder (sudo -u keeps HOME): unreadable means no default profile.
    if (named === undefined && isUnreadable(err)) return undefined;
    throw err;
  }
  const name = named ?? profiles.default;
  if (name === undefined) return undefined;
  const values = profiles.profiles[name];
  if (!values) throw new ConduitError('CONFIG', `No profile named ${name} (\`conduit profile list\`).`);
  return { name, values };
}

function isUnreadable(err: unknown): boolean {
  const code = ((err as { cause?: NodeJS.ErrnoException }).cause ?? {}).code;
  return code === 'EACCES' || code === 'EPERM';
}
