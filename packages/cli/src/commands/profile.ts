import type { Command } from 'commander';
import { ConduitError } from '@conduit/shared';
import { output } from '../program/output.js';
import { connectionSettings, type GlobalOptions } from '../settings/config.js';
import {
  activeProfile,
  configDir,
  PROFILE_VARIABLES,
  ProfileName,
  readProfiles,
  writeProfiles,
  type ProfileValues,
} from '../settings/profiles.js';

interface AddOptions {
  set?: string[];
  replace?: boolean;
  default?: boolean;
}

/** `conduit profile add|show|list|use|remove`: named connection settings (settings/profiles.ts). */
export function addProfileCommands(program: Command): void {
  const profile = program
    .command('profile')
    .description(`named connection settings, kept in ${configDir()} (no secrets)`);

  profile
    .command('add')
    .argument('<name>', 'profile name (letters, digits and . _ -)')
    .option('--set <VAR=value>', `a setting (${PROFILE_VARIABLES.join(', ')}); repeatable`, collect)
    .option('--replace', 'replace a profile of that name')
    .option('--default', 'make it the default profile')
    .description('save the connection settings in effect now (flags, CONDUIT_* variables, local stack) and --set ones')
    .action((name: string, opts: AddOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const valid = parseName(name);
      const profiles = readProfiles();
      if (profiles.profiles[valid] && !opts.replace) {
        throw new ConduitError('VALIDATION_FAILED', `A profile named ${valid} exists: pass --replace to overwrite it.`);
      }
      const values = { ...inEffect(g), ...parseSettings(opts.set ?? []) };
      if (Object.keys(values).length === 0) {
        throw new ConduitError('VALIDATION_FAILED', 'Nothing to save: pass --server, --as, --home or --set VAR=value.');
      }
      profiles.profiles[valid] = values;
      if (opts.default) profiles.default = valid;
      writeProfiles(profiles);
      output(g, { name: valid, values, default: profiles.default === valid }, [
        `profile ${valid} saved`,
        ...lines(values),
      ]);
    });

  profile
    .command('show')
    .argument('[name]', 'profile name (default: the active profile)')
    .description('print a profile’s settings')
    .action((name: string | undefined, _opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const shown = name === undefined ? activeProfile(g.profile) : named(name);
      if (!shown) throw new ConduitError('CONFIG', 'No active profile: name one (`conduit profile list`).');
      output(g, shown, [`profile ${shown.name}`, ...lines(shown.values)]);
    });

  profile
    .command('list')
    .description('list the profiles (* marks the default)')
    .action((_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const profiles = readProfiles();
      const names = Object.keys(profiles.profiles).sort();
      output(
        g,
        { default: profiles.default ?? null, profiles: names },
        names.length === 0
          ? ['no profiles (`conduit profile add <name>`)']
          : names.map((n) => `${n === profiles.default ? '*' : ' '} ${n}`),
      );
    });

  profile
    .command('use')
    .argument('<name>', 'profile name')
    .description('make a profile the default (used when neither --profile nor CONDUIT_PROFILE names one)')
    .action((name: string, _opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { name: valid } = named(name);
      const profiles = readProfiles();
      profiles.default = valid;
      writeProfiles(profiles);
      output(g, { default: valid }, [`default profile: ${valid}`]);
    });

  profile
    .command('remove')
    .argument('<name>', 'profile name')
    .description('delete a profile')
    .action((name: string, _opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { name: valid } = named(name);
      const profiles = readProfiles();
      delete profiles.profiles[valid];
      if (profiles.default === valid) delete profiles.default;
      writeProfiles(profiles);
      output(g, { removed: valid }, [`profile ${valid} removed`]);
    });
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parseName(name: string): string {
  const parsed = ProfileName.safeParse(name);
  if (!parsed.success)
    throw new ConduitError('VALIDATION_FAILED', 'Invalid profile name: letters, digits and . _ - (up to 64).');
  return parsed.data;
}

function named(name: string): { name: string; values: ProfileValues } {
  const valid = parseName(name);
  const values = readProfiles().profiles[valid];
  if (!values) throw new ConduitError('CONFIG', `No profile named ${valid} (\`conduit profile list\`).`);
  return { name: valid, values };
}

/** The profile settings in effect, from flags, the environment and a running local stack. */
function inEffect(g: GlobalOptions): ProfileValues {
  const env = connectionSettings(g);
  return Object.fromEntries(PROFILE_VARIABLES.flatMap((v) => (env[v] ? [[v, env[v]]] : [])));
}

function parseSettings(settings: string[]): ProfileValues {
  const values: ProfileValues = {};
  for (const setting of settings) {
    const eq = setting.indexOf('=');
    const key = setting.slice(0, eq);
    const value = setting.slice(eq + 1);
    if (eq <= 0 || !PROFILE_VARIABLES.includes(key) || value.length === 0 || value.length > 4096) {
      throw new ConduitError(
        'VALIDATION_FAILED',
        `--set takes VAR=value with VAR one of ${PROFILE_VARIABLES.join(', ')}.`,
      );
    }
    values[key] = value;
  }
  return values;
}

function lines(values: ProfileValues): string[] {
  return Object.entries(values).map(([key, value]) => `  ${key}=${value}`);
}
