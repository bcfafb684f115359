import { createLogger } from '../logger.js';
import { ConduitError, type IdentityDeletionReport } from '@conduit/shared';
import { AuditLog } from '../audit/audit-log.js';
import { lifecycleOf } from '../app-context.js';
import { DEFAULTS, type ServerConfig } from '../config.js';
import type { RedisClient } from '../adapters/redis/connection.js';
import { createKeys } from '../adapters/redis/keys.js';
import { identityDeletionOf } from '../lifecycle/identity-deletion-wiring.js';
import type { ServerDeps } from '../server-deps.js';

export interface DeleteIdentityOptions {
  reason: string;
  by: string;
  withGroups: boolean;
}

/** The most an operator's reason or name may hold (they go into the audit chain). */
const MAX_TEXT = 500;

/** `delete-identity <identity> --reason <text> --by <operator> [--with-groups]`: its options. */
export function parseDeleteIdentityOptions(args: readonly string[]): DeleteIdentityOptions {
  const values: Partial<Record<'reason' | 'by', string>> = {};
  let withGroups = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === '--with-groups') withGroups = true;
    else if ((arg === '--reason' || arg === '--by') && args[i + 1] !== undefined)
      values[arg.slice(2) as 'reason' | 'by'] = args[++i];
    else throw new ConduitError('VALIDATION_FAILED', `delete-identity: unexpected argument ${JSON.stringify(arg)}.`);
  }
  const { reason, by } = values;
  const fine = (v: string | undefined): v is string => v !== undefined && v.trim() !== '' && v.length <= MAX_TEXT;
  if (!fine(reason) || !fine(by)) {
    throw new ConduitError(
      'VALIDATION_FAILED',
      `usage: conduit-server admin delete-identity <identity> --reason <text> --by <operator> [--with-groups] (each text at most ${MAX_TEXT} characters)`,
    );
  }
  return { reason: reason.trim(), by: by.trim(), withGroups };
}

/**
 * The operator deletes an identity with the same service as the user's route, its reason and name
 * recorded in the `identity-deleted` entry. The adapters are the deployment's (S3, Sync, Virgil).
 */
export async function deleteIdentityCommand(
  config: ServerConfig,
  redis: RedisClient,
  identity: string,
  options: DeleteIdentityOptions,
  adapters?: Pick<ServerDeps, 'objectStore' | 'syncAdmin' | 'virgilTokens' | 'directoryAdmin'>,
): Promise<string> {
  const resolved = adapters ?? (await import('../compose.js')).composeDefaults(config);
  const keys = createKeys(config.redisKeyPrefix ?? DEFAULTS.redisKeyPrefix);
  const audit = new AuditLog(redis, keys);
  const lifecycle = lifecycleOf(redis, keys, resolved.objectStore, audit);
  try {
    const logger = createLogger(config.logLevel);
    const service = identityDeletionOf({ config, redis, keys, adapters: resolved, audit, lifecycle, logger });
    const report = await service.delete({
      identity,
      by: options.by,
      reason: options.reason,
      withGroups: options.withGroups,
    });
    return summary(report);
  } finally {
    // The S3 adapter holds sockets open; the port has no close (tests pass their own store).
    if (!adapters) (resolved.objectStore as { close?: () => void }).close?.();
  }
}

function summary(r: IdentityDeletionReport): string {
  return [
    r.deleted ? `${r.identity} deleted:` : `${r.identity} was deleted already:`,
    `  devices revoked   ${r.devices}`,
    `  groups left       ${r.groupsLeft}`,
    `  groups deleted    ${r.groupsDeleted}`,
    `  objects deleted   ${r.objectsDeleted} (${r.bytes} bytes; sent files: ${r.sentFiles})`,
    `  cards revoked     ${r.cardsRevoked}`,
    `  backups reset     ${r.backupsReset}`,
  ].join('\n');
}
