import { ConduitError, Identity } from '@conduit/shared';
import { DEFAULTS, type ServerConfig } from '../config.js';
import { namePolicyOf } from '../identity/auth/names.js';
import { OpaqueServer } from '../identity/auth/opaque.js';
import { closeRedis, connectRedis } from '../adapters/redis/connection.js';
import { createKeys } from '../adapters/redis/keys.js';
import { QuotaStore } from '../adapters/redis/quotas.js';
import { SessionState } from '../adapters/redis/sessions.js';
import { DEFAULT_QUOTAS, type QuotaSettings } from '../limits/quotas.js';
import { retentionRunCommand } from '../lifecycle/retention-command.js';
import { deleteIdentityCommand, parseDeleteIdentityOptions } from './delete-identity-command.js';
import { HOLD_USAGE, isHoldCommand, runHoldCommand, usageError } from './hold-commands.js';

export const ACCOUNT_COMMANDS = [
  'lock',
  'unlock',
  'reserve',
  'bootstrap',
  'quota',
  'opaque-setup',
  'retention-run',
  'delete-identity',
] as const;
export type AccountCommand = (typeof ACCOUNT_COMMANDS)[number];

/**
 * `conduit-server admin <command> [identity]`: operator actions on identities, straight on Redis
 * (no admin route, so no session can do them). Returns what to print on stdout.
 *   lock <identity>       refuse the identity on every route and end its sessions (ACCOUNT_LOCKED)
 *   unlock <identity>     lift the lock (ended sessions stay ended)
 *   reserve <identity>    only a bootstrap code may register the name (IDENTITY_RESERVED)
 *   bootstrap <identity>  reserve the name and print a one-time registration code (valid 24 h)
 *   quota <identity>      print what counts against the identity's quotas, and their limits
 *   opaque-setup          print a new CONDUIT_OPAQUE_SERVER_SETUP (needs no configuration)
 *   retention-run         run the retention job once now and print its summary (docs/lifecycle.md)
 *   delete-identity <identity> --reason <text> --by <operator> [--with-groups]
 *                         delete the identity (lifecycle/identity-deletion.ts) and print a summary
 *   hold, release, holds  legal holds (ops/hold-commands.ts); `rest` carries their further words
 */
export async function runAccountCommand(
  loadConfig: () => ServerConfig,
  command: string,
  arg: string | undefined,
  rest: readonly string[] = [],
): Promise<string> {
  if (command === 'opaque-setup') return OpaqueServer.generateSetup();
  if (command === 'retention-run') return retentionRunCommand(loadConfig());
  if (isHoldCommand(command)) return runHoldCommand(loadConfig, command, arg === undefined ? [] : [arg, ...rest]);
  if (!(ACCOUNT_COMMANDS as readonly string[]).includes(command)) {
    throw usageError(
      [
        `usage: conduit-server admin <${ACCOUNT_COMMANDS.join('|')}> [identity]`,
        ...HOLD_USAGE.map((u) => `       ${u}`),
      ].join('\n'),
    );
  }
  const parsed = Identity.safeParse(arg);
  if (!parsed.success) throw new ConduitError('VALIDATION_FAILED', 'The command needs a valid identity.');
  const identity = parsed.data;
  // Checked before any connection: a typo in the options changes nothing.
  const deletion = command === 'delete-identity' ? parseDeleteIdentityOptions(rest) : undefined;
  const config = loadConfig();
  const keys = createKeys(config.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix);
  const redis = connectRedis(config.redisUrl, 'command');
  try {
    const sessions = new SessionState(redis, keys);
    const names = namePolicyOf(config, redis, keys);
    switch (command as Exclude<AccountCommand, 'opaque-setup' | 'retention-run'>) {
      case 'lock':
        await sessions.lock(identity);
        return `${identity} locked; its sessions are ended`;
      case 'unlock':
        await sessions.unlock(identity);
        return `${identity} unlocked`;
      case 'reserve':
        await names.reserve(identity);
        return `${identity} reserved`;
      case 'bootstrap':
        return await names.bootstrap(identity);
      case 'delete-identity':
        return await deleteIdentityCommand(config, redis, identity, deletion!);
      case 'quota':
        return quotaReport(identity, await new QuotaStore(redis, keys).usage(identity), {
          ...DEFAULT_QUOTAS,
          ...config.quotas,
        });
    }
  } finally {
    await closeRedis(redis);
  }
}

/** Claims of delivered pointers are dropped lazily (limits/quotas.ts): the count may include some. */
function quotaReport(
  identity: string,
  used: { bytes: number; pointers: number; groups: number },
  limits: QuotaSettings,
): string {
  return [
    `${identity}:`,
    `  storedBytes      ${used.bytes} of ${limits.storedBytes}`,
    `  pendingPointers  ${used.pointers} of ${limits.pendingPointers} (claims; delivered ones are dropped when the quota fills)`,
    `  ownedGroups      ${used.groups} of ${limits.ownedGroups}`,
  ].join('\n');
}
