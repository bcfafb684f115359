import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../testing/fakes.js';
import { commandName, defineScripts, hashTagOf, luaScripts, SCRIPT_NAMES } from './script-loader.js';
import { readLuaScripts, ScriptError, scriptsDir } from './script-files.js';

/**
 * Conformance of the Lua scripts (BullMQ's commands/ folder is the model): every file is named
 * `<name>-<keys>.lua`, opens with a header whose KEYS and ARGV agree with its name and its body,
 * and names its results; the loader registers each one, and Redis compiles each one.
 */
const dir = scriptsDir();
const files = readdirSync(dir).filter((f) => f.endsWith('.lua'));
const includes = readdirSync(join(dir, 'includes')).filter((f) => f.endsWith('.lua'));

interface Header {
  description: string;
  keys: number[];
  /** Declared ARGV indexes; `variadicFrom` when the last entry is `ARGV[n...]`. */
  args: number[];
  variadicFrom?: number;
  output: string[];
}

function header(text: string): Header {
  const block = /^--\[\[\n([\s\S]*?)\n\]\]\n/.exec(text)?.[1];
  if (!block) throw new Error('no --[[ ... ]] header block at the top');
  const description = block.split(/\n\s*(?:Input|Output):\n/)[0] ?? '';
  const output =
    block
      .split(/\n\s*Output:\n/)[1]
      ?.split('\n')
      .map((l) => l.trim())
      .filter(Boolean) ?? [];
  const keys: number[] = [];
  const args: number[] = [];
  let variadicFrom: number | undefined;
  for (const m of block.matchAll(/^ {4}(KEYS|ARGV)\[(\d+)(\.\.\.)?\] \S/gm)) {
    const n = Number(m[2]);
    if (m[1] === 'KEYS') keys.push(n);
    else if (m[3]) variadicFrom = n;
    else args.push(n);
  }
  return { description: description.trim(), keys, args, ...(variadicFrom ? { variadicFrom } : {}), output };
}

const indexes = (lua: string, name: 'KEYS' | 'ARGV') =>
  [...lua.matchAll(new RegExp(`${name}\\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1]));
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
/** The Lua after the header block: what the script runs. */
const body = (lua: string) => lua.replace(/^--\[\[[\s\S]*?\]\]\n/gm, '');

describe('Redis Lua scripts', () => {
  it('are exactly the scripts the loader knows, one file each', () => {
    expect(files.map((f) => f.replace(/-\d+\.lua$/, '')).sort()).toEqual(SCRIPT_NAMES);
    expect(luaScripts().map((s) => s.name)).toEqual(SCRIPT_NAMES);
  });

  describe.each(readLuaScripts())('$file', ({ file, numberOfKeys, lua }) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const h = header(text);

    it('has a header naming what it does, each KEYS, each ARGV and its results', () => {
      expect(h.description.length).toBeGreaterThan(20);
      expect(h.keys).toEqual(range(numberOfKeys));
      expect(h.args).toEqual(range(h.args.length));
      if (h.variadicFrom !== undefined) expect(h.variadicFrom).toBe(h.args.length + 1);
      expect(h.output.length).toBeGreaterThan(0);
      for (const line of h.output) expect(line).toMatch(/ - \S/);
    });

    it('uses only the KEYS and ARGV its header declares', () => {
      for (const k of indexes(body(lua), 'KEYS')) expect(k).toBeLessThanOrEqual(numberOfKeys);
      if (h.variadicFrom === undefined) {
        for (const a of indexes(body(text), 'ARGV')) expect(a).toBeLessThanOrEqual(h.args.length);
      }
    });
  });

  it('every include has a header and is used by some script', () => {
    const expanded = readLuaScripts().map((s) => readFileSync(join(dir, s.file), 'utf8'));
    const nested = includes.map((f) => readFileSync(join(dir, 'includes', f), 'utf8'));
    for (const file of includes) {
      const name = file.replace(/\.lua$/, '');
      expect(readFileSync(join(dir, 'includes', file), 'utf8')).toMatch(/^--\[\[\n {2}\S[\s\S]*?\n\]\]\n/);
      expect([...expanded, ...nested].some((t) => t.includes(`--- @include "${name}"`))).toBe(true);
    }
  });

  describe('the loader', () => {
    let redis: Redis;
    beforeAll(() => {
      redis = new Redis(TEST_REDIS_URL);
    });
    afterAll(async () => {
      await redis.quit();
    });

    it('registers every script on the client, under a name no Redis command has', () => {
      for (const name of SCRIPT_NAMES) expect(commandName(name) in redis).toBe(false);
      const scripts = defineScripts(redis, ...SCRIPT_NAMES);
      for (const name of SCRIPT_NAMES) {
        expect(typeof scripts[name]).toBe('function');
        expect(typeof (redis as unknown as Record<string, unknown>)[commandName(name)]).toBe('function');
      }
      expect(defineScripts(redis, 'ack').ack).toBe(scripts.ack);
    });

    it('each script compiles in Redis', async () => {
      for (const { file, lua } of luaScripts()) {
        await expect(redis.script('LOAD', lua), file).resolves.toMatch(/^[0-9a-f]{40}$/);
      }
    });

    it('refuses a call with the wrong number of keys', async () => {
      const { keepItem } = defineScripts(redis, 'keepItem');
      await expect(keepItem([], ['{}'])).rejects.toMatchObject({ name: 'ScriptError', code: 'SCRIPT_KEY_COUNT' });
      await expect(keepItem(['a', 'b'], ['{}'])).rejects.toBeInstanceOf(ScriptError);
    });

    it('refuses, on any Redis, keys that a cluster would hash to different slots', async () => {
      const { outboxTake } = defineScripts(redis, 'outboxTake');
      const crossSlot = outboxTake(['x:{s1}:outbox', 'x:{s2}:outbox:processing'], [1]);
      await expect(crossSlot).rejects.toMatchObject({ name: 'ScriptError', code: 'SCRIPT_CROSS_SLOT' });
      await expect(outboxTake(['x:outbox', 'x:outbox:processing'], [1])).rejects.toMatchObject({
        code: 'SCRIPT_CROSS_SLOT',
      });
      expect(await outboxTake(['x:{s1}:outbox', 'x:{s1}:outbox:processing'], [1])).toEqual([]);
    });

    it('reads hash tags as Redis Cluster does', () => {
      expect(hashTagOf('p:{s3}:grp:g')).toBe('s3');
      expect(hashTagOf('{a}{b}')).toBe('a');
      expect(hashTagOf('p:{}:x{y}')).toBe('p:{}:x{y}'); // an empty first tag: the whole key
      expect(hashTagOf('p:{s3')).toBe('p:{s3');
      expect(hashTagOf('plain')).toBe('plain');
    });
  });
});
