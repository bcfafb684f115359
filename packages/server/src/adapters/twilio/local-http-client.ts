/**
 * The twilio library hard-codes `https://sync.twilio.com` (region/edge only change the host name);
 * its supported seam is a custom `httpClient`. This one sends Sync REST calls to another base URL
 * (the devstack emulator) and leaves every other host untouched.
 */
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';

const SYNC_ORIGIN = 'https://sync.twilio.com';

export class LocalSyncHttpClient extends twilio.RequestClient {
  private readonly baseUrl: string;

  constructor(baseUrl: string, opts?: RequestClient.RequestClientOptions) {
    super(opts);
    const url = new URL(baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('baseUrl must be http(s)');
    this.baseUrl = url.origin + url.pathname.replace(/\/$/, '');
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = opts.uri.startsWith(`${SYNC_ORIGIN}/`) ? this.baseUrl + opts.uri.slice(SYNC_ORIGIN.length) : opts.uri;
    return super.request<TData>({ ...opts, uri });
  }
}
