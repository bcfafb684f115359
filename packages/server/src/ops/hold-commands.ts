import { ConduitError, GroupId, Identity } from '@conduit/shared';
import { DEFAULTS, type ServerConfig } from '../config.js';
import { closeRedis, connectRedis } from '../adapters/redis/connection.js';
import { createKeys } from '../adapters/redis/keys.js';
import { AuditLog } from '../audit/audit-log.js';
import { LegalHolds, type HoldKind, type LegalHold } from '../lifecycle/legal-holds.js';

export const HOLD_COMMANDS = ['hold', 'release', 'holds'] as const;
export type HoldCommand = (typeof HOLD_COMMANDS)[number];

export const HOLD_USAGE = [
  'conduit-server admin hold <group|identity> <id> --name <name> --reason <text> --by <operator>',
  'conduit-server admin release <group|identity> <id> --reason <text> --by <operator>',
  'conduit-server admin holds',
];

/** The operator's texts are bounded and printable: they land in the audit chain and in LEGAL_HOLD errors. */
const MAX_TEXT = 200;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const isHoldCommand = (command: string): command is HoldCommand =>
  (HOLD_COMMANDS as readonly string[]).includes(command);

/** A usage error: main.ts prints the message and exits 2. */
export const usageError = (message: string): ConduitError =>
  new ConduitError('VALIDATION_FAILED', message, { usage: true });

interface HoldRequest {
  command: HoldCommand;
  kind?: HoldKind;
  id?: string;
  flags: Partial<Record<'name' | 'reason' | 'by', string>>;
}

/**
 * `conduit-server admin hold|release|holds` (docs/lifecycle.md#legal-holds): legal holds, straight on
 * Redis with LegalHolds, which records each placement and release in the audit chain. `args` are
 * the words after the command. Returns what to print; usage errors are `usageError`s.
 */
export async function runHoldCommand(
  loadConfig: () => ServerConfig,
  command: HoldCommand,
  args: readonly string[],
): Promise<string> {
  const request = parseHoldArgs(command, args);
  const config = loadConfig();
  const keys = createKeys(config.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix);
  const redis = connectRedis(config.redisUrl, 'command');
  try {
    const holds = new LegalHolds(redis, keys, new AuditLog(redis, keys));
    const { kind, id, flags } = request;
    if (command === 'holds') return listing(await holds.list());
    const subject = `${kind!} ${id!}`;
    if (command === 'hold') {
      const { hold, placed } = await holds.place(kind!, id!, {
        name: flags.name!,
        reason: flags.reason!,
        by: flags.by!,
      });
      return placed
        ? `legal hold "${hold.name}" placed on ${subject} (audited as legal-hold-placed)`
        : `${subject} is already under legal hold "${hold.name}" (placed ${hold.placedAt} by ${hold.by}); nothing changed`;
    }
    const existing = await holds.get(kind!, id!);
    const released = await holds.release(kind!, id!, flags.by!, flags.reason!);
    return released && existing
      ? `legal hold "${existing.name}" on ${subject} released (audited as legal-hold-released)`
      : `${subject} is under no legal hold; nothing released`;
  } finally {
    await closeRedis(redis);
  }
}

/** Checks the words of a hold command: subject, id and flags, before anything connects. */
export function parseHoldArgs(command: HoldCommand, args: readonly string[]): HoldRequest {
  const usage = HOLD_USAGE[HOLD_COMMANDS.indexOf(command)]!;
  if (command === 'holds') {
    if (args.length > 0) throw usageError(`usage: ${usage}`);
    return { command, flags: {} };
  }
  const [kind, id, ...rest] = args;
  if (kind !== 'group' && kind !== 'identity') throw usageError(`usage: ${usage}`);
  const parsedId = (kind === 'group' ? GroupId : Identity).safeParse(id);
  if (!parsedId.success) {
    throw usageError(`${id === undefined ? 'missing' : 'invalid'} ${kind} id (usage: ${usage})`);
  }
  const wanted = command === 'hold' ? (['name', 'reason', 'by'] as const) : (['reason', 'by'] as const);
  const flags = parseFlags(rest, wanted, usage);
  return { command, kind, id: parsedId.data, flags };
}

function parseFlags(
  words: readonly string[],
  wanted: readonly ('name' | 'reason' | 'by')[],
  usage: string,
): HoldRequest['flags'] {
  const flags: HoldRequest['flags'] = {};
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i]!;
    const eq = word.indexOf('=');
    const flag = (eq > 0 ? word.slice(0, eq) : word).replace(/^--/, '') as 'name' | 'reason' | 'by';
    if (!word.startsWith('--') || !wanted.includes(flag))
      throw usageError(`unknown argument ${word} (usage: ${usage})`);
    if (flags[flag] !== undefined) throw usageError(`--${flag} given twice (usage: ${usage})`);
    const value = eq > 0 ? word.slice(eq + 1) : words[(i += 1)];
    if (value === undefined) throw usageError(`--${flag} needs a value (usage: ${usage})`);
    flags[flag] = checkedText(flag, value);
  }
  const missing = wanted.filter((f) => flags[f] === undefined);
  if (missing.length > 0) throw usageError(`missing ${missing.map((f) => `--${f}`).join(', ')} (usage: ${usage})`);
  return flags;
}

function checkedText(flag: string, value: string): string {
  const text = value.trim();
  if (text.length < 1 || text.length > MAX_TEXT || CONTROL.test(text)) {
    throw usageError(`--${flag} takes 1 to ${MAX_TEXT} characters, no control characters`);
  }
  return text;
}

function listing(holds: readonly LegalHold[]): string {
  if (holds.length === 0) return 'no legal holds';
  return [
    `${holds.length} legal hold${holds.length === 1 ? '' : 's'}:`,
    ...holds.map((h) => `  ${h.kind} ${h.id}  "${h.name}"  placed ${h.placedAt} by ${h.by}  reason: ${h.reason}`),
  ].join('\n');
}
