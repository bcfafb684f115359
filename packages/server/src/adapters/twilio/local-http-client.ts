/**
 * The twilio library hard-codes `https://sync.twilio.com` (region/edge only change the host name);
 * its supported seam is a custom `httpClient`. This one sends Sync REST calls to another base URL
 * (the devstack emulator) and leaves every other host untouched.
 */
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { NodeHttpClient } from './node-http-client.js';

export class LocalSyncHttpClient extends NodeHttpClient {
  constructor(baseUrl: string, opts?: Pick<RequestClient.RequestClientOptions, 'timeout'>) {
    super({ syncBaseUrl: baseUrl, ...(opts?.timeout === undefined ? {} : { timeoutMs: opts.timeout }) });
  }
}
