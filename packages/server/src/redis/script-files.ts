import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Reads the Lua scripts under src/redis/scripts (BullMQ's layout): `<name>-<numberOfKeys>.lua`,
 * each starting with a header block naming its KEYS, ARGV and results. A line
 * `--- @include "<name>"` pastes `includes/<name>.lua` in its place (once per script, however
 * often it is named), so shared Lua functions exist once.
 *
 * The files are read from src/ at run time, from src (tests) and dist alike: tsc does not copy
 * them into dist, and every build path (npm scripts, CI, the Dockerfile) runs `tsc -b` directly,
 * so a copy step would be one more thing each must remember. package.json `files` ships the folder.
 */
export const SCRIPTS_DIR = 'src/redis/scripts';

export interface LuaScript {
  /** The file name without key count and extension, e.g. `ack` for `ack-9.lua`. */
  name: string;
  numberOfKeys: number;
  /** The file's text with its includes expanded. */
  lua: string;
  file: string;
}

export type ScriptErrorCode =
  | 'SCRIPTS_DIR_MISSING'
  | 'SCRIPT_FILE_NAME'
  | 'SCRIPT_INCLUDE_MISSING'
  | 'SCRIPT_UNKNOWN'
  | 'SCRIPT_MISSING'
  | 'SCRIPT_KEY_COUNT'
  | 'SCRIPT_CROSS_SLOT';

/** A script file or call that does not fit the loader's rules (a deployment or programming fault). */
export class ScriptError extends Error {
  override readonly name = 'ScriptError';

  constructor(
    readonly code: ScriptErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const FILE_NAME = /^([A-Za-z][A-Za-z0-9]*)-(\d+)\.lua$/;
const INCLUDE = /^--- @include "([A-Za-z][A-Za-z0-9]*)"$/gm;

/** The package root: the nearest folder above this module that holds a package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new ScriptError('SCRIPTS_DIR_MISSING', 'No package.json above the script loader.');
    dir = parent;
  }
  return dir;
}

export function scriptsDir(): string {
  const dir = join(packageRoot(), SCRIPTS_DIR);
  if (!existsSync(dir)) throw new ScriptError('SCRIPTS_DIR_MISSING', `Redis scripts folder not found: ${dir}`);
  return dir;
}

function expandIncludes(dir: string, text: string, seen: Set<string>): string {
  return text.replace(INCLUDE, (_, include: string) => {
    if (seen.has(include)) return '';
    seen.add(include);
    const path = join(dir, 'includes', `${include}.lua`);
    if (!existsSync(path)) throw new ScriptError('SCRIPT_INCLUDE_MISSING', `Lua include not found: ${path}`);
    return expandIncludes(dir, readFileSync(path, 'utf8'), seen);
  });
}

/** Every script in the folder, includes expanded, sorted by name. */
export function readLuaScripts(dir = scriptsDir()): LuaScript[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.lua'))
    .sort()
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match) throw new ScriptError('SCRIPT_FILE_NAME', `Lua script ${file} is not named <name>-<keys>.lua.`);
      const text = readFileSync(join(dir, file), 'utf8');
      return { name: match[1]!, numberOfKeys: Number(match[2]), lua: expandIncludes(dir, text, new Set()), file };
    });
}
