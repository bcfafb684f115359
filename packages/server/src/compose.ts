import type { ServerConfig } from './config.js';
import { S3ObjectStore } from './adapters/s3/s3-object-store.js';
import { S3FeedPages } from './adapters/s3/s3-feed-pages.js';
import { TwilioSyncTokenIssuer } from './adapters/twilio/sync-token-issuer.js';
import { TwilioSyncAdmin } from './adapters/twilio/twilio-sync-admin.js';
import { VirgilTokenIssuer } from './adapters/virgil/virgil-token-issuer.js';
import type { ServerDeps } from './server-deps.js';

/** The production wiring: every port backed by its real adapter, configured from ServerConfig. */
export function composeDefaults(config: ServerConfig): ServerDeps {
  return {
    objectStore: new S3ObjectStore(config.s3),
    feedPages: new S3FeedPages(config.s3),
    virgilTokens: new VirgilTokenIssuer({
      appId: config.virgil.appId,
      appKeyId: config.virgil.appKeyId,
      appPrivateKey: config.virgil.appPrivateKey,
      ttlSeconds: config.virgil.tokenTtlSeconds,
    }),
    syncTokens: new TwilioSyncTokenIssuer({
      accountSid: config.twilio.accountSid,
      apiKeySid: config.twilio.apiKeySid,
      apiKeySecret: config.twilio.apiKeySecret,
      serviceSid: config.twilio.serviceSid,
      ttlSeconds: config.twilio.tokenTtlSeconds,
    }),
    syncAdmin: new TwilioSyncAdmin({
      accountSid: config.twilio.accountSid,
      apiKeySid: config.twilio.apiKeySid,
      apiKeySecret: config.twilio.apiKeySecret,
      serviceSid: config.twilio.serviceSid,
      ...(config.twilio.restBaseUrl ? { restBaseUrl: config.twilio.restBaseUrl } : {}),
    }),
  };
}
