/**
 * Reads the Sync Service resource (GET /v1/Services/{sid}) for the production checks: whether
 * its ACL is enabled. Authenticates with the API key (SK...), the least privilege that reads it.
 */
import { ConduitError } from '@conduit/shared';
import twilio from 'twilio';
import { LocalSyncHttpClient } from './local-http-client.js';

export interface SyncServiceReaderOptions {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  serviceSid: string;
  /** Base URL replacing https://sync.twilio.com (the devstack emulator); absent = real Twilio. */
  restBaseUrl?: string;
  timeoutMs: number;
}

/** Twilio answered with an error status: wrong credentials (401/403) or no such service (404). */
export class SyncServiceRefusedError extends ConduitError {
  constructor(readonly httpStatus: number) {
    super('CONFIG', `Twilio Sync refused to read the service (HTTP ${httpStatus}).`, { status: httpStatus });
  }
}

/** No answer: network failure or timeout (the transport error is dropped: it carries the Authorization header). */
export class SyncServiceUnreachableError extends ConduitError {
  constructor(reason: string) {
    super('DEPENDENCY_UNAVAILABLE', `Twilio Sync did not answer (${reason}).`);
  }
}

/** `acl_enabled` of the configured Sync service. */
export async function readSyncServiceAcl(opts: SyncServiceReaderOptions): Promise<boolean> {
  const transport = opts.restBaseUrl
    ? new LocalSyncHttpClient(opts.restBaseUrl, { timeout: opts.timeoutMs })
    : new twilio.RequestClient({ timeout: opts.timeoutMs });
  const client = twilio(opts.apiKeySid, opts.apiKeySecret, { accountSid: opts.accountSid, httpClient: transport });
  try {
    const service = await client.sync.v1.services(opts.serviceSid).fetch();
    return service.aclEnabled === true;
  } catch (err) {
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number') throw new SyncServiceRefusedError(status);
    const code = (err as { code?: unknown } | null)?.code;
    const reason =
      code === 'ECONNABORTED' || code === 'ETIMEDOUT'
        ? `no answer within ${opts.timeoutMs / 1000} s`
        : typeof code === 'string' && /^[A-Z_]{1,32}$/.test(code)
          ? code
          : 'network error';
    throw new SyncServiceUnreachableError(reason);
  }
}
