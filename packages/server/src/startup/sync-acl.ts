import type { ServerConfig } from '../config.js';
import { readSyncServiceAcl, SyncServiceRefusedError } from '../adapters/twilio/sync-service.js';
import { CHECK_TIMEOUT_MS, type Refusal } from './refusal.js';

const SETTINGS = ['AclEnabled of the Sync service TWILIO_SYNC_SERVICE_SID'];

/**
 * Without the service's ACL, any holder of a Sync token (every device) can read and write every
 * map, other groups' pointers included: the map permissions Conduit grants would mean nothing.
 */
export async function checkSyncAcl(config: ServerConfig, timeoutMs = CHECK_TIMEOUT_MS): Promise<Refusal | null> {
  const { accountSid, apiKeySid, apiKeySecret, serviceSid, restBaseUrl } = config.twilio;
  try {
    const aclEnabled = await readSyncServiceAcl({
      accountSid,
      apiKeySid,
      apiKeySecret,
      serviceSid,
      ...(restBaseUrl ? { restBaseUrl } : {}),
      timeoutMs,
    });
    if (aclEnabled) return null;
    return {
      check: 'sync-acl',
      settings: SETTINGS,
      reason:
        'ACL is off on the Sync service: every device could read and write every map. Enable it ' +
        '(Twilio Console, or POST /v1/Services/{sid} with AclEnabled=true)',
    };
  } catch (err) {
    const refused = err instanceof SyncServiceRefusedError;
    return {
      check: 'sync-acl',
      settings: refused
        ? ['TWILIO_ACCOUNT_SID', 'TWILIO_API_KEY', 'TWILIO_API_SECRET', 'TWILIO_SYNC_SERVICE_SID']
        : restBaseUrl
          ? ['TWILIO_SYNC_REST_URL']
          : [],
      reason: refused
        ? `could not be checked: Twilio answered HTTP ${err.httpStatus} reading the Sync service (credentials or service sid)`
        : `could not be checked: ${err instanceof Error ? err.message : 'Twilio Sync did not answer'}`,
    };
  }
}
