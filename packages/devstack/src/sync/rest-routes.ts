/**
 * Sync REST API v1 (the `twilio` library's `client.sync.v1.services(IS)...`): the Service resource
 * (read only), Maps, Map Items and Map Permissions, form-encoded bodies, Basic auth, Twilio-shaped
 * errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkBasicAuth, type SyncCredentials } from './auth.js';
import { badRequest, notFound, statusText, SyncApiError } from './errors.js';
import type { FaultState } from './faults.js';
import { decodePageToken, encodePageToken, type PageQuery } from './paging.js';
import type { Item, SyncObject, SyncStore } from './store.js';
import { validateTtl } from './store.js';
import { itemTtl, parseData, readForm } from './rest-form.js';
import { serviceResource } from './service-resource.js';
import { splitPath } from './cds-routes.js';

const REST_BASE = 'https://sync.twilio.com';
const MAX_PAGE_SIZE = 1000;
/** The emulator's own read-only routes (not Twilio's API), behind the same account auth. */
const EMULATOR_PATH = '__emulator';

interface RestRequest {
  method: string;
  segments: string[];
  query: URLSearchParams;
  form: URLSearchParams;
  ifMatch: string | undefined;
}

interface RestResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One REST write to a map item (create, update, delete) as the emulator answered it. */
export interface RestItemWrite {
  method: 'POST' | 'DELETE';
  /** The map as the request named it (unique name or sid). */
  map: string;
  /** The item key; for a create, the `Key` of the form. */
  key: string;
  status: number;
  /** When the answer was ready (ms since the epoch). */
  at: number;
}

export class RestRouter {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** The Service resource's creation time (the emulator's start). */
  private readonly serviceCreated = new Date();

  constructor(
    private readonly store: SyncStore,
    private readonly faults: FaultState,
    private readonly creds: SyncCredentials,
    /** The service's ACL setting, as `GET /v1/Services/{sid}` reports it (`acl_enabled`). */
    private readonly aclEnabled: boolean,
    /** Resolves once the writes so far are durable. */
    private readonly persisted: () => Promise<void> = () => Promise.resolve(),
    /** Witness of every item write, refused ones included (tests count writes per map and key). */
    private readonly onItemWrite?: (write: RestItemWrite) => void,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let out: RestResponse;
    const write: Partial<RestItemWrite> = {};
    try {
      out = await this.process(req, write);
      if (req.method !== 'GET') await this.persisted();
    } catch (err) {
      if (!(err instanceof SyncApiError)) throw err;
      out = { status: err.status, body: err.toBody(), headers: err.headers };
    }
    if (write.method && write.map !== undefined && write.key !== undefined) {
      this.onItemWrite?.({ method: write.method, map: write.map, key: write.key, status: out.status, at: Date.now() });
    }
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...out.headers };
    let payload = '';
    if (out.body !== undefined) {
      payload = JSON.stringify(out.body);
      headers['Content-Type'] = 'application/json';
    }
    if (out.status === 401) headers['WWW-Authenticate'] = 'Basic realm="Twilio API"';
    res.writeHead(out.status, statusText(out.status), headers).end(payload);
  }

  /** Cancels pending injected delays (emulator shutdown). */
  cancelDelays(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async process(req: IncomingMessage, write: Partial<RestItemWrite>): Promise<RestResponse> {
    const failure = this.faults.takeRestFailure();
    if (failure !== null) throw new SyncApiError(failure, 20000 + failure, statusText(failure));
    const delay = this.faults.takeRestDelay();
    if (delay > 0) await this.sleep(delay);
    if (!checkBasicAuth(req.headers.authorization, this.creds)) {
      throw new SyncApiError(401, 20003, 'Authenticate');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const form = method === 'POST' ? await readForm(req) : new URLSearchParams();
    const ifMatch = typeof req.headers['if-match'] === 'string' ? req.headers['if-match'] : undefined;
    const segments = splitPath(url.pathname);
    noteItemWrite(write, method, segments, form);
    return this.route({ method, segments, query: url.searchParams, form, ifMatch });
  }

  private route(r: RestRequest): RestResponse {
    if (r.segments[0] === EMULATOR_PATH) return this.emulatorRoute(r);
    const [v1, services, serviceSid, maps, mapId, child, childId, ...rest] = r.segments;
    if (v1 !== 'v1' || services !== 'Services' || serviceSid === undefined) throw notFound('path');
    if (serviceSid !== this.creds.serviceSid) throw notFound(`service ${serviceSid}`.slice(0, 80));
    if (maps === undefined) return this.serviceRoute(r);
    if (maps !== 'Maps' || rest.length > 0) throw notFound('path');
    if (mapId === undefined) {
      if (r.method === 'GET') return { status: 200, body: this.mapPage(r.query) };
      if (r.method !== 'POST') throw methodNotAllowed();
      const obj = this.store.create('map', {
        uniqueName: r.form.get('UniqueName') ?? undefined,
        ttl: validateTtl(r.form.get('CollectionTtl') ?? r.form.get('Ttl') ?? undefined),
        createdBy: 'system',
      });
      return { status: 201, body: this.mapResource(obj) };
    }
    const obj = this.store.get('map', mapId, 20404);
    if (child === undefined) return this.mapRoute(obj, r);
    if (child === 'Items') return childId === undefined ? this.itemsRoute(obj, r) : this.itemRoute(obj, childId, r);
    if (child === 'Permissions' && childId !== undefined) return this.permissionRoute(obj, childId, r);
    throw notFound('path');
  }

  /** `GET /__emulator/write-stats/<map sid or unique name>`: the map's write counters (write-stats.ts). */
  private emulatorRoute(r: RestRequest): RestResponse {
    const [, what, mapId, ...rest] = r.segments;
    if (what !== 'write-stats' || mapId === undefined || rest.length > 0) throw notFound('path');
    if (r.method !== 'GET') throw methodNotAllowed();
    const obj = this.store.get('map', mapId, 20404);
    return { status: 200, body: { sid: obj.sid, unique_name: obj.uniqueName, ...this.faults.writeStats(obj.sid) } };
  }

  private mapRoute(obj: SyncObject, r: RestRequest): RestResponse {
    switch (r.method) {
      case 'GET':
        return { status: 200, body: this.mapResource(obj) };
      case 'POST':
        this.store.setTtl(obj, validateTtl(r.form.get('CollectionTtl') ?? r.form.get('Ttl') ?? undefined) ?? 0);
        return { status: 200, body: this.mapResource(obj) };
      case 'DELETE':
        this.store.remove(obj);
        return { status: 204 };
      default:
        throw methodNotAllowed();
    }
  }

  private itemsRoute(obj: SyncObject, r: RestRequest): RestResponse {
    if (r.method === 'POST') {
      const key = r.form.get('Key');
      if (key === null) throw badRequest('Missing required parameter Key');
      const { item } = this.store.putMapItem(obj, key, parseData(r.form.get('Data')), {
        ttl: itemTtl(r.form),
        createdBy: 'system',
        mustNotExist: true,
      });
      return { status: 201, body: this.itemResource(obj, item), headers: etag(item) };
    }
    if (r.method !== 'GET') throw methodNotAllowed();
    return { status: 200, body: this.itemPage(obj, r.query) };
  }

  private itemRoute(obj: SyncObject, key: string, r: RestRequest): RestResponse {
    switch (r.method) {
      case 'GET': {
        const item = obj.items.get(key);
        if (!item) throw notFound(`map item ${key.slice(0, 64)}`);
        return { status: 200, body: this.itemResource(obj, item), headers: etag(item) };
      }
      case 'POST': {
        const raw = r.form.get('Data');
        const existing = obj.items.get(key);
        if (!existing) throw notFound(`map item ${key.slice(0, 64)}`);
        const { item } = this.store.putMapItem(obj, key, raw === null ? existing.data : parseData(raw), {
          ttl: itemTtl(r.form),
          ifMatch: r.ifMatch,
          createdBy: 'system',
          mustExist: true,
        });
        return { status: 200, body: this.itemResource(obj, item), headers: etag(item) };
      }
      case 'DELETE':
        if (!obj.items.has(key)) throw notFound(`map item ${key.slice(0, 64)}`);
        this.store.removeItem(obj, key, r.ifMatch);
        return { status: 204 };
      default:
        throw methodNotAllowed();
    }
  }

  private permissionRoute(obj: SyncObject, identity: string, r: RestRequest): RestResponse {
    if (identity.length === 0 || identity.length > 256) throw badRequest('Invalid identity');
    switch (r.method) {
      case 'GET': {
        const perms = obj.permissions.get(identity);
        if (!perms) throw notFound('permission');
        return { status: 200, body: this.permissionResource(obj, identity) };
      }
      case 'POST': {
        const flag = (name: string): boolean => {
          const v = r.form.get(name);
          if (v !== 'true' && v !== 'false') throw badRequest(`Missing or invalid parameter ${name}`);
          return v === 'true';
        };
        this.store.setPermissions(obj, identity, { read: flag('Read'), write: flag('Write'), manage: flag('Manage') });
        return { status: 200, body: this.permissionResource(obj, identity) };
      }
      case 'DELETE':
        if (!this.store.removePermissions(obj, identity)) throw notFound('permission');
        return { status: 204 };
      default:
        throw methodNotAllowed();
    }
  }

  private itemPage(obj: SyncObject, q: URLSearchParams): Record<string, unknown> {
    const pageSize = Number(q.get('PageSize') ?? '50');
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw badRequest('Invalid PageSize');
    const token = q.get('PageToken');
    let query: PageQuery;
    if (token !== null) query = decodePageToken(token);
    else {
      const order = q.get('Order') ?? 'asc';
      const bounds = q.get('Bounds') ?? 'inclusive';
      if ((order !== 'asc' && order !== 'desc') || (bounds !== 'inclusive' && bounds !== 'exclusive')) {
        throw badRequest('Invalid Order or Bounds');
      }
      query = { order, from: q.get('From') ?? undefined, exclusive: bounds === 'exclusive', reverse: false };
    }
    const order = query.reverse ? (query.order === 'asc' ? 'desc' : 'asc') : query.order;
    const page = this.store.query(obj, { ...query, order, limit: pageSize });
    const items = query.reverse ? [...page.items].reverse() : page.items;
    const [hasPrev, hasNext] = query.reverse ? [page.hasNext, page.hasPrevious] : [page.hasPrevious, page.hasNext];
    const listUrl = `${this.mapUrl(obj)}/Items`;
    const pageUrl = (t: string | null): string | null =>
      t === null ? null : `${listUrl}?PageSize=${pageSize}&PageToken=${encodeURIComponent(t)}`;
    const first = items[0];
    const last = items[items.length - 1];
    return {
      items: items.map((i) => this.itemResource(obj, i)),
      meta: {
        page: 0,
        page_size: pageSize,
        first_page_url: `${listUrl}?PageSize=${pageSize}`,
        previous_page_url: pageUrl(
          hasPrev && first ? encodePageToken({ order: query.order, from: first.key, reverse: true }) : null,
        ),
        url: `${listUrl}?PageSize=${pageSize}`,
        next_page_url: pageUrl(
          hasNext && last ? encodePageToken({ order: query.order, from: last.key, reverse: false }) : null,
        ),
        key: 'items',
      },
    };
  }

  /** GET /Maps: every map ordered by SID, paged like Twilio (`meta.key` 'maps', next_page_url). */
  private mapPage(q: URLSearchParams): Record<string, unknown> {
    const pageSize = Number(q.get('PageSize') ?? '50');
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) throw badRequest('Invalid PageSize');
    const token = q.get('PageToken');
    const after = token === null ? undefined : decodePageToken(token).from;
    const all = this.store.list('map').filter((m) => after === undefined || m.sid > after);
    const page = all.slice(0, pageSize);
    const last = page[page.length - 1];
    const listUrl = `${REST_BASE}/v1/Services/${this.creds.serviceSid}/Maps`;
    const next =
      all.length > pageSize && last
        ? `${listUrl}?PageSize=${pageSize}&PageToken=${encodeURIComponent(
            encodePageToken({ order: 'asc', from: last.sid, reverse: false }),
          )}`
        : null;
    return {
      maps: page.map((m) => this.mapResource(m)),
      meta: {
        page: 0,
        page_size: pageSize,
        first_page_url: `${listUrl}?PageSize=${pageSize}`,
        previous_page_url: null,
        url: `${listUrl}?PageSize=${pageSize}`,
        next_page_url: next,
        key: 'maps',
      },
    };
  }

  /** `GET /v1/Services/{sid}`: the fields of Twilio's Service resource (updating it is not emulated). */
  private serviceRoute(r: RestRequest): RestResponse {
    if (r.method !== 'GET') throw methodNotAllowed();
    return {
      status: 200,
      body: serviceResource({
        base: REST_BASE,
        serviceSid: this.creds.serviceSid,
        accountSid: this.creds.accountSid,
        created: this.serviceCreated,
        aclEnabled: this.aclEnabled,
      }),
    };
  }

  private mapUrl(obj: SyncObject): string {
    return `${REST_BASE}/v1/Services/${this.creds.serviceSid}/Maps/${obj.sid}`;
  }

  private mapResource(obj: SyncObject): Record<string, unknown> {
    const url = this.mapUrl(obj);
    return {
      sid: obj.sid,
      unique_name: obj.uniqueName,
      account_sid: this.creds.accountSid,
      service_sid: this.creds.serviceSid,
      url,
      links: { items: `${url}/Items`, permissions: `${url}/Permissions` },
      revision: String(obj.revision),
      date_expires: iso(obj.expiresAt),
      date_created: obj.dateCreated.toISOString(),
      date_updated: obj.dateUpdated.toISOString(),
      created_by: obj.createdBy,
    };
  }

  private itemResource(obj: SyncObject, item: Item): Record<string, unknown> {
    return {
      key: item.key,
      account_sid: this.creds.accountSid,
      service_sid: this.creds.serviceSid,
      map_sid: obj.sid,
      url: `${this.mapUrl(obj)}/Items/${encodeURIComponent(item.key)}`,
      revision: String(item.revision),
      data: item.data,
      date_expires: iso(item.expiresAt),
      date_created: item.dateCreated.toISOString(),
      date_updated: item.dateUpdated.toISOString(),
      created_by: item.createdBy,
    };
  }

  private permissionResource(obj: SyncObject, identity: string): Record<string, unknown> {
    const perms = obj.permissions.get(identity)!;
    return {
      account_sid: this.creds.accountSid,
      service_sid: this.creds.serviceSid,
      map_sid: obj.sid,
      identity,
      ...perms,
      url: `${this.mapUrl(obj)}/Permissions/${encodeURIComponent(identity)}`,
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Fills `write` when the request writes a map item (…/Maps/:map/Items[/:key], POST or DELETE). */
function noteItemWrite(write: Partial<RestItemWrite>, method: string, segments: string[], form: URLSearchParams): void {
  const [, , , maps, map, child, key] = segments;
  if (maps !== 'Maps' || map === undefined || child !== 'Items' || (method !== 'POST' && method !== 'DELETE')) return;
  const itemKey = key ?? form.get('Key');
  if (itemKey === null || (method === 'DELETE' && key === undefined)) return;
  Object.assign(write, { method, map, key: itemKey });
}

function methodNotAllowed(): SyncApiError {
  return new SyncApiError(405, 20004, 'Method not allowed');
}

/** Twilio answers item resources with their revision as the ETag, the value `If-Match` takes. */
const etag = (item: Item): Record<string, string> => ({ ETag: String(item.revision) });
