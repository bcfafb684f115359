/**
 * The `twilio` library's transport (its supported `httpClient` seam) on node:http/https, without
 * the axios stack of the library's own RequestClient: a purge is one Sync DELETE, and axios' config
 * merging, interceptors and a TCP keep-alive reset on every request cost the worker about a tenth
 * of its CPU. The library still builds each request (URL, User-Agent, credentials) and reads each
 * answer (status, JSON body, RestException); this only moves the bytes.
 *
 * Redirects are not followed (Sync's REST API answers none; a 3xx reaches the library as the error
 * it is). A proxy or a CA bundle (HTTP_PROXY, TWILIO_CA_BUNDLE) is the library's own client's
 * job: see `twilioTransport`.
 */
import http from 'node:http';
import https from 'node:https';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type TwilioResponse from 'twilio/lib/http/response.js';

type Response<T> = TwilioResponse.default<T>;

/** The host the library addresses Sync at (region and edge only change the host name). */
export const SYNC_ORIGIN = 'https://sync.twilio.com';
const DEFAULT_TIMEOUT_MS = 30_000;
/** Larger answers are refused: a page of 100 Sync items is well under 2 MiB. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/**
 * Connections per host. Each request in flight holds one, and callers bound those (the purge
 * worker's concurrency, 32 by default); kept open between requests, so TLS handshakes stay rare.
 */
const MAX_SOCKETS = 64;

export interface NodeHttpClientOptions {
  /** Socket inactivity bound of one request (and of an idle pooled connection). */
  timeoutMs?: number;
  /** Sends what the library addresses to https://sync.twilio.com here instead (the devstack emulator). */
  syncBaseUrl?: string;
}

/** A transport failure, with a code as Node's own errors have (the caller classifies by it). */
export class HttpTransportError extends Error {
  override readonly name = 'HttpTransportError';
  constructor(
    readonly code: 'ETIMEDOUT' | 'ERESPONSETOOLARGE',
    message: string,
  ) {
    super(message);
  }
}

export class NodeHttpClient extends twilio.RequestClient {
  private readonly timeoutMs: number;
  private readonly syncBase: string | undefined;
  private readonly agents: { 'http:': http.Agent; 'https:': https.Agent };
  /** Basic credentials, encoded once per username/password pair rather than per request. */
  private basic: { user: string; password: string; header: string } | undefined;

  constructor(opts: NodeHttpClientOptions = {}) {
    super({ timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (opts.syncBaseUrl !== undefined) {
      const url = new URL(opts.syncBaseUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('syncBaseUrl must be http(s)');
      this.syncBase = url.origin + url.pathname.replace(/\/$/, '');
    }
    const agentOpts = {
      keepAlive: true,
      maxSockets: MAX_SOCKETS,
      maxFreeSockets: MAX_SOCKETS,
      timeout: this.timeoutMs,
    };
    this.agents = { 'http:': new http.Agent(agentOpts), 'https:': new https.Agent(agentOpts) };
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<Response<TData>> {
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.username && opts.password) headers.Authorization = this.basicAuth(opts.username, opts.password);
    else if (opts.authStrategy) headers.Authorization = await opts.authStrategy.getAuthString();
    let body: string | undefined;
    if (opts.data) {
      const type = headers['Content-Type'];
      if (type === 'application/x-www-form-urlencoded') body = formEncode(opts.data);
      else if (type === 'application/json') body = JSON.stringify(opts.data);
    }
    if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
    let uri =
      this.syncBase && opts.uri.startsWith(`${SYNC_ORIGIN}/`)
        ? this.syncBase + opts.uri.slice(SYNC_ORIGIN.length)
        : opts.uri;
    if (opts.params) {
      const query = formEncode(opts.params);
      if (query) uri += (uri.includes('?') ? '&' : '?') + query;
    }
    const url = new URL(uri);
    const agent =
      url.protocol === 'https:' ? this.agents['https:'] : url.protocol === 'http:' ? this.agents['http:'] : undefined;
    if (!agent) throw new Error('twilio request URI must be http(s)');
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<Response<TData>>((resolve, reject) => {
      const req = send(url, { method: opts.method.toUpperCase(), headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new HttpTransportError('ERESPONSETOOLARGE', 'response too large'));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          // The library parses a string body itself (JSON), as it does the axios client's.
          resolve({ statusCode: res.statusCode ?? 0, body: text as TData, headers: res.headers });
        });
        res.on('error', reject);
      });
      req.setTimeout(opts.timeout ?? this.timeoutMs, () =>
        req.destroy(new HttpTransportError('ETIMEDOUT', 'Sync request timed out')),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private basicAuth(user: string, password: string): string {
    if (this.basic?.user !== user || this.basic.password !== password) {
      this.basic = { user, password, header: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
    }
    return this.basic.header;
  }
}

/**
 * application/x-www-form-urlencoded as the library's client sends it (qs, arrayFormat 'repeat'):
 * an array repeats its key, undefined is left out, null is an empty value; nested objects, which
 * qs would spell `key[sub]`, never come from the library and are refused.
 */
export function formEncode(params: object): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (v === undefined) continue;
      // The library serializes what it sends (JSON strings, booleans, dates) before this point.
      if (typeof v === 'object' && v !== null) throw new TypeError(`form value of ${key} is not a scalar`);
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v === null ? '' : String(v))}`);
    }
  }
  return parts.join('&');
}
