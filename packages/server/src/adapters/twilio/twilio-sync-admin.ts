/**
 * SyncAdmin over the Twilio Sync REST API (the `twilio` library). Transient failures (429, 5xx,
 * timeouts, connection errors) become DEPENDENCY_UNAVAILABLE errors the worker retries; an item
 * or map that is already gone counts as removed.
 */
import {
  ConduitError,
  type Identity,
  type SyncAdmin,
  type SyncMapItemSummary,
  type SyncMapSummary,
  type SyncPermissions,
} from '@conduit/shared';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { NodeHttpClient } from './node-http-client.js';

/**
 * REST calls authenticate with an API key (SK…) and its secret, never the account's auth token:
 * a key can be revoked on its own and cannot manage the account's keys (docs/credentials.md).
 */
export interface TwilioSyncAdminOptions {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  serviceSid: string;
  /** Base URL replacing https://sync.twilio.com (the devstack emulator); absent = real Twilio. */
  restBaseUrl?: string;
  timeoutMs?: number;
}

/** Sync is up but refuses more writes for now (HTTP 429: 54009 for an object over its write rate, 20429 elsewhere). */
export class SyncRateLimitedError extends ConduitError {
  constructor(readonly retryAfterMs: number | undefined) {
    super(
      'DEPENDENCY_UNAVAILABLE',
      'Twilio Sync rate limit reached.',
      retryAfterMs === undefined ? undefined : { retryAfterMs },
    );
  }
}

/** Sync did not answer usefully: 5xx, timeout or network failure. */
export class SyncUnavailableError extends ConduitError {
  constructor(reason: string) {
    super('DEPENDENCY_UNAVAILABLE', `Twilio Sync is unavailable (${reason}).`);
  }
}

/** Sync refused the request itself (a 4xx other than the handled ones): a bug or misconfiguration. */
export class SyncRequestError extends ConduitError {
  constructor(status: number, twilioCode: number | undefined) {
    super('INTERNAL', `Twilio Sync rejected the request (HTTP ${status}).`, { status, twilioCode });
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const NAME_MAX = 320;
/** Never created (group maps are `g_<hex>`). */
const PING_MAP = 'conduit-readiness-probe';

export class TwilioSyncAdmin implements SyncAdmin {
  private readonly service;

  constructor(opts: TwilioSyncAdminOptions) {
    const client = twilio(opts.apiKeySid, opts.apiKeySecret, {
      accountSid: opts.accountSid,
      httpClient: new ClassifyingHttpClient(transportOf(opts.restBaseUrl, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)),
    });
    this.service = client.sync.v1.services(opts.serviceSid);
  }

  async ensureMap(uniqueName: string): Promise<'created' | 'exists'> {
    checkName(uniqueName);
    try {
      await this.service.syncMaps.create({ uniqueName });
      return 'created';
    } catch (err) {
      if (restStatus(err) === 409) return 'exists'; // 54301: it exists already
      throw translate(err);
    }
  }

  async setMapPermissions(map: string, identity: Identity, permissions: SyncPermissions): Promise<void> {
    checkName(map);
    checkName(identity);
    try {
      await this.service.syncMaps(map).syncMapPermissions(identity).update({
        read: permissions.read,
        write: permissions.write,
        manage: permissions.manage,
      });
    } catch (err) {
      throw translate(err);
    }
  }

  /**
   * Readiness probe: one cheap authenticated read. It fetches a map that is never created, so a 404
   * proves Sync answered and accepted the credentials (401 and 5xx/timeouts throw); it works the
   * same against Twilio and the emulator, which serves no service fetch or map listing.
   */
  async ping(): Promise<void> {
    try {
      await this.service.syncMaps(PING_MAP).fetch();
    } catch (err) {
      if (restStatus(err) === 404) return;
      throw translate(err);
    }
  }

  /**
   * Create; when the key exists already (a retried publish), replace its data and TTL. An item
   * that is usually there (the records feed notification) is replaced first, and created only when
   * that answers 404 (the item expired, or the map is gone: the create tells which).
   */
  async setMapItem(
    map: string,
    key: string,
    data: Record<string, unknown>,
    ttlSeconds: number,
    likely: 'new' | 'existing' = 'new',
  ): Promise<'written' | 'map-missing'> {
    checkName(map);
    checkName(key);
    const items = this.service.syncMaps(map).syncMapItems;
    if (likely === 'existing') {
      try {
        await items(key).update({ data, itemTtl: ttlSeconds });
        return 'written';
      } catch (err) {
        if (restStatus(err) !== 404) throw translate(err);
      }
    }
    try {
      await items.create({ key, data, itemTtl: ttlSeconds });
      return 'written';
    } catch (err) {
      const status = restStatus(err);
      if (status === 404) return 'map-missing'; // 20404: no such map
      if (status !== 409) throw translate(err); // 54208: the key exists: replace it
    }
    try {
      await items(key).update({ data, itemTtl: ttlSeconds });
      return 'written';
    } catch (err) {
      throw translate(err);
    }
  }

  async removeMapItem(map: string, key: string): Promise<'removed' | 'absent'> {
    checkName(map);
    checkName(key);
    try {
      await this.service.syncMaps(map).syncMapItems(key).remove();
      return 'removed';
    } catch (err) {
      if (restStatus(err) === 404) return 'absent'; // 20404: item (or its map) already gone
      throw translate(err);
    }
  }

  async removeMap(uniqueName: string): Promise<'removed' | 'absent'> {
    checkName(uniqueName);
    try {
      await this.service.syncMaps(uniqueName).remove();
      return 'removed';
    } catch (err) {
      if (restStatus(err) === 404) return 'absent'; // 20404: no such map
      throw translate(err);
    }
  }

  async removeMapPermissions(map: string, identity: Identity): Promise<'removed' | 'absent'> {
    checkName(map);
    checkName(identity);
    try {
      await this.service.syncMaps(map).syncMapPermissions(identity).remove();
      return 'removed';
    } catch (err) {
      if (restStatus(err) === 404) return 'absent';
      throw translate(err);
    }
  }

  async *listMaps(): AsyncGenerator<SyncMapSummary[]> {
    // The service itself is there (a 404 here is misconfiguration, not an empty listing).
    yield* pages(
      () => this.service.syncMaps.page({ pageSize: PAGE_SIZE }),
      (m) => ({
        sid: m.sid,
        uniqueName: m.uniqueName ?? null,
      }),
    );
  }

  async *listMapItems(map: string): AsyncGenerator<SyncMapItemSummary[]> {
    checkName(map);
    try {
      yield* pages(
        () => this.service.syncMaps(map).syncMapItems.page({ pageSize: PAGE_SIZE }),
        (i) => ({
          key: i.key,
          dateCreated: i.dateCreated,
        }),
      );
    } catch (err) {
      if (err instanceof MapGone) return;
      throw err;
    }
  }
}

const PAGE_SIZE = 100;

class MapGone extends Error {}

interface TwilioPage<T> {
  instances: T[];
  nextPage(): Promise<TwilioPage<T>> | undefined;
}

/** Follows next_page_url; a 404 on the first page (map gone) ends the listing as MapGone. */
async function* pages<T, R>(first: () => Promise<TwilioPage<T>>, map: (v: T) => R): AsyncGenerator<R[]> {
  let page: TwilioPage<T> | undefined;
  try {
    page = await first();
  } catch (err) {
    if (restStatus(err) === 404) throw new MapGone();
    throw translate(err);
  }
  while (page) {
    yield page.instances.map(map);
    try {
      page = await page.nextPage();
    } catch (err) {
      throw translate(err);
    }
  }
}

/**
 * Turns transient HTTP outcomes into typed errors before the library sees them: the library's
 * RestException drops response headers, and Retry-After is needed.
 */
class ClassifyingHttpClient extends twilio.RequestClient {
  constructor(private readonly inner: RequestClient) {
    super();
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const res = await this.inner.request<TData>(opts).catch((err: unknown) => {
      // Never attach the transport error: it carries the request config, Authorization included.
      throw new SyncUnavailableError(transportReason(err));
    });
    if (res.statusCode === 429) throw new SyncRateLimitedError(retryAfterMs(res.headers));
    if (res.statusCode >= 500) throw new SyncUnavailableError(`HTTP ${res.statusCode}`);
    return res;
  }
}

/**
 * NodeHttpClient, unless a proxy or a CA bundle is configured for Twilio: the library's own client
 * honours those environment variables (HTTP_PROXY, TWILIO_CA_BUNDLE), so it keeps that job.
 */
function transportOf(restBaseUrl: string | undefined, timeoutMs: number): RequestClient {
  if (restBaseUrl) return new NodeHttpClient({ syncBaseUrl: restBaseUrl, timeoutMs });
  if (process.env.HTTP_PROXY || process.env.TWILIO_CA_BUNDLE) return new twilio.RequestClient({ timeout: timeoutMs });
  return new NodeHttpClient({ timeoutMs });
}

function checkName(value: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > NAME_MAX) {
    throw new ConduitError('VALIDATION_FAILED', 'Invalid Sync name, key or identity.');
  }
}

function restStatus(err: unknown): number | undefined {
  if (err instanceof ConduitError) return undefined;
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function translate(err: unknown): Error {
  if (err instanceof ConduitError) return err;
  const status = restStatus(err);
  if (status !== undefined) {
    const code = (err as { code?: unknown }).code;
    return new SyncRequestError(status, typeof code === 'number' ? code : undefined);
  }
  return new SyncUnavailableError('unexpected client error');
}

function transportReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return 'timeout';
  return typeof code === 'string' && /^[A-Z_]{1,32}$/.test(code) ? code : 'network error';
}

/** Retry-After is seconds or an HTTP date. */
function retryAfterMs(headers: unknown): number | undefined {
  const raw = (headers as Record<string, unknown> | undefined)?.['retry-after'];
  if (typeof raw !== 'string' || raw.length > 64) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
