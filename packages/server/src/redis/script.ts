import type { Redis } from 'ioredis';

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers a Lua script with ioredis (EVALSHA, falling back to EVAL once per connection) and
 * returns a typed caller. Scripts are how multi-key invariants stay atomic without WATCH loops.
 */
export function defineScript<R>(
  redis: Redis,
  name: string,
  numberOfKeys: number,
  lua: string,
): (keys: readonly string[], args: readonly (string | number)[]) => Promise<R> {
  redis.defineCommand(name, { numberOfKeys, lua });
  const fn = (redis as unknown as Record<string, ScriptFn>)[name];
  if (!fn) throw new Error(`Redis script ${name} was not registered.`);
  return async (keys, args) => {
    if (keys.length !== numberOfKeys) throw new Error(`Redis script ${name} takes ${numberOfKeys} keys.`);
    return (await fn.call(redis, ...keys, ...args)) as R;
  };
}
