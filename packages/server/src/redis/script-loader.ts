import type { RedisClient } from '../adapters/redis/connection.js';
import { readLuaScripts, ScriptError, type LuaScript } from './script-files.js';
import type { DeviceStatusReply, RotateRefreshReply, SessionGateReply } from './script-replies.js';

/**
 * The one Redis script loader: the files in ./scripts are defined on a client as ioredis commands
 * (EVALSHA, falling back to EVAL once per connection), with a typed caller per script. Scripts are
 * how multi-key invariants stay atomic without WATCH loops.
 */

/** What each script returns as ioredis hands it over (the Output block of its file's header). */
export interface ScriptReplies {
  ack: [number, number?];
  archiveFeedPage: number;
  addMembers: [number, ...string[]];
  appendRecordVersion: [number, (string | null)?];
  auditDropOldest: number;
  auditEnqueue: number;
  auditSeal: number;
  auditTrim: number;
  authRate: number;
  bucketPause: number;
  bucketTake: number;
  bucketTakeMany: number;
  commitRecordsRetention: number;
  claimDueUploads: string[];
  consumeBootstrapCode: number;
  countInWindow: number;
  createGroup: number;
  createOpaqueAccount: number;
  deviceStatus: DeviceStatusReply;
  dropEndpoints: [number, number];
  expireRecordVersions: number;
  feedNotifyGate: [number, number?];
  finishGroupDeletion: number;
  forgetObjects: number;
  finishIdentityDeletion: number;
  expirePointer: number;
  keepItem: number;
  leaseRelease: number;
  leaseRenew: number;
  markFailed: number;
  markPurged: [number, number?];
  outboxTake: string[];
  pruneRecordHistory: number;
  quotaBytes: [number, number];
  quotaClaim: [number, number];
  quotaRefund: number;
  refundGroupEnvelopes: number;
  receiptInputs: [] | [string, string, string, string[], string[], string[]];
  recordHead: string | null;
  recordHistory: string[];
  recordUploadParts: number;
  registerDevice: [number, string];
  registerPointer: number;
  removeMember: number;
  revokeDevice: number;
  rotateRefresh: [RotateRefreshReply, number?, number?, number?];
  sessionGate: SessionGateReply;
  setDeviceName: number;
  setGroupName: number;
  tombstoneGroup: number;
  withdrawPointer: number;
}

export type ScriptName = keyof ScriptReplies;

// A Record, so the compiler insists that every script above is listed (and nothing else).
const NAMES: Record<ScriptName, true> = {
  ack: true,
  archiveFeedPage: true,
  addMembers: true,
  appendRecordVersion: true,
  auditDropOldest: true,
  auditEnqueue: true,
  auditSeal: true,
  auditTrim: true,
  authRate: true,
  bucketPause: true,
  bucketTake: true,
  bucketTakeMany: true,
  commitRecordsRetention: true,
  claimDueUploads: true,
  consumeBootstrapCode: true,
  countInWindow: true,
  createGroup: true,
  createOpaqueAccount: true,
  deviceStatus: true,
  dropEndpoints: true,
  expireRecordVersions: true,
  feedNotifyGate: true,
  finishGroupDeletion: true,
  forgetObjects: true,
  finishIdentityDeletion: true,
  expirePointer: true,
  keepItem: true,
  leaseRelease: true,
  leaseRenew: true,
  markFailed: true,
  markPurged: true,
  outboxTake: true,
  pruneRecordHistory: true,
  quotaBytes: true,
  quotaClaim: true,
  quotaRefund: true,
  refundGroupEnvelopes: true,
  receiptInputs: true,
  recordHead: true,
  recordHistory: true,
  recordUploadParts: true,
  registerDevice: true,
  registerPointer: true,
  removeMember: true,
  revokeDevice: true,
  rotateRefresh: true,
  sessionGate: true,
  setDeviceName: true,
  setGroupName: true,
  tombstoneGroup: true,
  withdrawPointer: true,
};
export const SCRIPT_NAMES = Object.keys(NAMES).sort() as ScriptName[];

export type ScriptCaller<R> = (keys: readonly string[], args: readonly (string | number)[]) => Promise<R>;
export type RedisScripts = { readonly [N in ScriptName]: ScriptCaller<ScriptReplies[N]> };

/**
 * The ioredis method name. Prefixed, so a script can never shadow a Redis command of the client
 * (`expire`) or one BullMQ defines on a shared connection.
 */
export const commandName = (name: string): string => `conduit${name[0]!.toUpperCase()}${name.slice(1)}`;

let files: readonly LuaScript[] | undefined;

/** The script files, read once per process; exactly the scripts in ScriptReplies, or it throws. */
export function luaScripts(): readonly LuaScript[] {
  if (files) return files;
  const found = readLuaScripts();
  const unknown = found.find((s) => !Object.hasOwn(NAMES, s.name));
  if (unknown) throw new ScriptError('SCRIPT_UNKNOWN', `Lua script ${unknown.file} is not in ScriptReplies.`);
  const missing = SCRIPT_NAMES.find((name) => !found.some((s) => s.name === name));
  if (missing) throw new ScriptError('SCRIPT_MISSING', `No Lua file for the script ${missing}.`);
  files = found;
  return files;
}

type CommandFn = (...args: (string | number)[]) => Promise<unknown>;
const defined = new WeakMap<RedisClient, Map<ScriptName, ScriptCaller<unknown>>>();

/**
 * Defines the named scripts on the client (once per client) and returns their callers. Each
 * repository names the scripts it runs, so a connection carries only those: ioredis copies every
 * script defined on a client onto each pipeline and MULTI it creates (docs/delivery.md).
 */
export function defineScripts<N extends ScriptName>(redis: RedisClient, ...names: N[]): Pick<RedisScripts, N> {
  let callers = defined.get(redis);
  if (!callers) defined.set(redis, (callers = new Map()));
  const picked: Partial<Record<ScriptName, ScriptCaller<unknown>>> = {};
  for (const name of names) {
    let caller = callers.get(name);
    if (!caller) callers.set(name, (caller = define(redis, name)));
    picked[name] = caller;
  }
  return picked as Pick<RedisScripts, N>;
}

function define(redis: RedisClient, name: ScriptName): ScriptCaller<unknown> {
  const script = luaScripts().find((s) => s.name === name);
  if (!script) throw new ScriptError('SCRIPT_MISSING', `No Lua file for the script ${name}.`);
  const { numberOfKeys, lua } = script;
  const command = commandName(name);
  redis.defineCommand(command, { numberOfKeys, lua });
  const fn = (redis as unknown as Record<string, CommandFn>)[command];
  if (!fn) throw new ScriptError('SCRIPT_MISSING', `Redis script ${name} was not registered.`);
  return async (keys, args) => {
    checkKeys(name, numberOfKeys, keys);
    return fn.call(redis, ...keys, ...args);
  };
}

/**
 * The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key (the
 * cluster specification's hash tag rule).
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/**
 * Every call is checked on any Redis, single or cluster: a script's keys must share one hash tag,
 * so a key layout that would fail on a cluster (CROSSSLOT) fails the same way in every test run.
 */
function checkKeys(name: ScriptName, numberOfKeys: number | undefined, keys: readonly string[]): void {
  if (keys.length !== numberOfKeys) {
    throw new ScriptError('SCRIPT_KEY_COUNT', `Redis script ${name} takes ${numberOfKeys} keys.`);
  }
  const tag = keys.length > 0 ? hashTagOf(keys[0]!) : '';
  if (keys.some((key) => hashTagOf(key) !== tag)) {
    throw new ScriptError('SCRIPT_CROSS_SLOT', `Redis script ${name} was given keys of different hash tags.`);
  }
}

export interface ScriptCall {
  keys: readonly string[];
  args: readonly (string | number)[];
}
export type ScriptBatchCaller<R> = (calls: readonly ScriptCall[]) => Promise<R[]>;

/**
 * One script run once per call in a single pipeline: one round trip for many independent steps,
 * each atomic on its own and run in call order. A call that fails rejects the batch (the others
 * still ran: callers make each step idempotent).
 */
export function defineScriptBatch<N extends ScriptName>(
  redis: RedisClient,
  name: N,
): ScriptBatchCaller<ScriptReplies[N]> {
  defineScripts(redis, name);
  const numberOfKeys = luaScripts().find((s) => s.name === name)?.numberOfKeys;
  const command = commandName(name);
  return async (calls) => {
    const pipeline = redis.pipeline();
    const queue = pipeline as unknown as Record<string, (...args: (string | number)[]) => unknown>;
    for (const { keys, args } of calls) {
      checkKeys(name, numberOfKeys, keys);
      queue[command]!(...keys, ...args);
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, reply]) => {
      if (err) throw err;
      return reply as ScriptReplies[N];
    });
  };
}
