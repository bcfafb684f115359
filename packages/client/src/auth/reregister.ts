import type { EThree } from '@virgilsecurity/e3kit-node';
import type { HttpClient } from '../api/http-client.js';
import * as lifecycle from '../identity/lifecycle.js';
import { reregister, type Reregistration } from './opaque-client.js';

/**
 * Re-encrypts the key backup from `fromBackup` to the new record's secret, then stores the record
 * (password change, migration). The backup changes first and is changed back if the server
 * refuses, so the backup and the login never diverge.
 */
export async function reregisterWithBackup(
  ethree: EThree,
  api: HttpClient,
  fromBackup: string,
  change: Reregistration,
  log: (line: string) => void,
): Promise<void> {
  await lifecycle.changeBackupPassword(ethree, fromBackup, change.backup);
  try {
    await reregister(api, change);
  } catch (err) {
    await lifecycle.changeBackupPassword(ethree, change.backup, fromBackup).catch(() => {
      log('could not undo the backup password change: the backup now opens with the new password');
    });
    throw err;
  }
}
