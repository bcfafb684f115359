import type { ServerConfig } from '../config.js';
import { checkRedisDurability } from './redis-durability.js';
import { CHECK_TIMEOUT_MS, productionUnsafe, type Refusal } from './refusal.js';
import { checkSignUp } from './sign-up.js';
import { checkSyncAcl } from './sync-acl.js';
import { checkTls } from './tls.js';
import { checkVirgilKey } from './virgil-key.js';

/** Every production check, run at once; the failed ones in a fixed order (the table's in the docs). */
export async function productionRefusals(config: ServerConfig, timeoutMs = CHECK_TIMEOUT_MS): Promise<Refusal[]> {
  const [virgil, sync, redis] = await Promise.all([
    checkVirgilKey(config),
    checkSyncAcl(config, timeoutMs),
    checkRedisDurability(config, timeoutMs),
  ]);
  return [checkSignUp(config), checkTls(config), sync, virgil, ...redis].filter((r): r is Refusal => r !== null);
}

/** In production mode, throws PRODUCTION_UNSAFE naming every failed check; development mode checks nothing. */
export async function assertProductionReady(config: ServerConfig): Promise<void> {
  if (config.mode !== 'production') return;
  const refusals = await productionRefusals(config);
  if (refusals.length > 0) throw productionUnsafe(refusals);
}
