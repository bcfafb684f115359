/**
 * The CDS API that twilio-sync calls through Twilsock `message` frames: Maps, Lists and
 * `/v4/Subscriptions`. Only host-independent paths matter (the client may address any CDS host).
 */
import { z } from 'zod';
import type { Access } from './access.js';
import { itemDescriptor, objectDescriptor } from './cds-wire.js';
import { badRequest, notFound, SyncApiError } from './errors.js';
import { decodePageToken, encodePageToken, type PageQuery } from './paging.js';
import type { ObjectType, SyncObject, SyncStore } from './store.js';
import { validateTtl } from './store.js';
import type { Subscriber, SubscriptionHub } from './subscriptions.js';

export interface CdsRequest {
  method: string;
  path: string;
  params: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
}

export interface CdsResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  after?: () => void;
}

const CreateBody = z.object({
  unique_name: z.string().max(320).optional(),
  ttl: z.unknown().optional(),
  purpose: z.string().max(256).optional(),
  context: z.unknown().optional(),
});
const ItemBody = z.object({ data: z.unknown(), ttl: z.unknown().optional() });
const UpdateBody = z.object({ data: z.unknown().optional(), ttl: z.unknown().optional() });
const TtlBody = z.object({ ttl: z.unknown() });

const TYPES: Record<string, ObjectType> = { Maps: 'map', Lists: 'list' };
const NOT_FOUND_CODE: Record<ObjectType, number> = { map: 54200, list: 54150 };
const MAX_PAGE_SIZE = 100;

export class CdsRouter {
  constructor(
    private readonly store: SyncStore,
    private readonly access: Access,
    private readonly hub: SubscriptionHub,
  ) {}

  handle(sub: Subscriber, req: CdsRequest): CdsResponse {
    try {
      return this.route(sub, req);
    } catch (err) {
      if (err instanceof SyncApiError) return { status: err.status, headers: err.headers, body: err.toBody() };
      throw err;
    }
  }

  private route(sub: Subscriber, req: CdsRequest): CdsResponse {
    const segments = splitPath(req.path);
    const method = req.method.toUpperCase();
    if (segments[0] === 'v4' && segments[1] === 'Subscriptions' && segments.length === 2 && method === 'POST') {
      const { body, after } = this.hub.handle(sub, req.body);
      return { status: 202, body, after };
    }
    const type = segments[0] === 'v3' ? TYPES[segments[1] ?? ''] : undefined;
    if (!type) throw notFound('path');
    const [, , id, sub1, key, ...rest] = segments;
    if (rest.length > 0) throw notFound('path');
    const who = sub.identity;

    if (id === undefined) {
      if (method !== 'POST') throw methodNotAllowed();
      this.access.requireCreate();
      const body = parse(CreateBody, req.body);
      const obj = this.store.create(type, { uniqueName: body.unique_name, ttl: validateTtl(body.ttl), createdBy: who });
      return { status: 201, body: objectDescriptor(obj) };
    }

    const obj = this.store.get(type, id, NOT_FOUND_CODE[type]);
    if (sub1 === undefined) return this.objectRoute(obj, method, req, who);
    if (sub1 !== 'Items') throw notFound('path');
    if (key === undefined) return this.itemsRoute(obj, method, req, who);
    return this.itemRoute(obj, key, method, req, who);
  }

  private objectRoute(obj: SyncObject, method: string, req: CdsRequest, who: string): CdsResponse {
    switch (method) {
      case 'GET':
        this.access.require(obj, who, 'read');
        return { status: 200, body: objectDescriptor(obj) };
      case 'POST':
        this.access.require(obj, who, 'write');
        this.store.setTtl(obj, validateTtl(parse(TtlBody, req.body).ttl) ?? 0);
        return { status: 200, body: objectDescriptor(obj) };
      case 'DELETE':
        this.access.require(obj, who, 'manage');
        this.store.remove(obj);
        return { status: 204 };
      default:
        throw methodNotAllowed();
    }
  }

  private itemsRoute(obj: SyncObject, method: string, req: CdsRequest, who: string): CdsResponse {
    if (method === 'GET') {
      this.access.require(obj, who, 'read');
      return { status: 200, body: this.listItems(obj, req.params) };
    }
    if (method === 'POST' && obj.type === 'list') {
      this.access.require(obj, who, 'write');
      const body = parse(ItemBody, req.body);
      const item = this.store.pushListItem(obj, body.data, { ttl: validateTtl(body.ttl), createdBy: who });
      return { status: 201, body: withoutData(itemDescriptor(obj, item)) };
    }
    throw methodNotAllowed();
  }

  private itemRoute(obj: SyncObject, key: string, method: string, req: CdsRequest, who: string): CdsResponse {
    const ifMatch = header(req.headers, 'If-Match');
    if (obj.type === 'list' && !/^\d{1,15}$/.test(key)) throw notFound('list item', 54151);
    switch (method) {
      case 'GET': {
        this.access.require(obj, who, 'read');
        const item = obj.items.get(key);
        if (!item) throw notFound('item', obj.type === 'map' ? 54201 : 54151);
        return { status: 200, body: itemDescriptor(obj, item) };
      }
      case 'PUT': {
        if (obj.type !== 'map') throw methodNotAllowed();
        this.access.require(obj, who, 'write');
        const body = parse(ItemBody, req.body);
        const { item, added } = this.store.putMapItem(obj, key, body.data, {
          ttl: validateTtl(body.ttl),
          ifMatch,
          createdBy: who,
        });
        return { status: added ? 201 : 200, body: withoutData(itemDescriptor(obj, item)) };
      }
      case 'POST': {
        this.access.require(obj, who, 'write');
        const body = parse(UpdateBody, req.body);
        const item = this.store.updateItem(obj, key, { data: body.data, ttl: validateTtl(body.ttl), ifMatch });
        return { status: 200, body: withoutData(itemDescriptor(obj, item)) };
      }
      case 'DELETE': {
        this.access.require(obj, who, 'write');
        const event = this.store.removeItem(obj, key, ifMatch);
        return { status: 200, body: { last_event_id: event.id, date_updated: event.date.toISOString() } };
      }
      default:
        throw methodNotAllowed();
    }
  }

  private listItems(obj: SyncObject, params: Record<string, unknown>): Record<string, unknown> {
    const key = param(params, obj.type === 'map' ? 'Key' : 'Index');
    if (key !== undefined) {
      const item = obj.items.get(key);
      const live = item && (item.expiresAt === null || item.expiresAt > Date.now());
      return { items: live ? [itemDescriptor(obj, item)] : [], meta: { previous_token: null, next_token: null } };
    }
    const size = param(params, 'PageSize');
    const requested = size === undefined ? 50 : Number(size);
    if (!Number.isInteger(requested) || requested < 1 || requested > 1000) throw badRequest('Invalid PageSize', 20007);
    // twilio-sync asks for 101 (a page plus its `From` item); pages are capped as the service does.
    const limit = Math.min(requested, MAX_PAGE_SIZE);
    const token = param(params, 'PageToken');
    const order = param(params, 'Order') ?? 'asc';
    if (!isOrder(order)) throw badRequest('Invalid Order');
    const query: PageQuery =
      token !== undefined ? decodePageToken(token) : { order, from: param(params, 'From'), reverse: false };
    const page = this.store.query(obj, { ...query, limit, order: query.reverse ? flip(query.order) : query.order });
    const items = query.reverse ? [...page.items].reverse() : page.items;
    const [hasPrev, hasNext] = query.reverse ? [page.hasNext, page.hasPrevious] : [page.hasPrevious, page.hasNext];
    const first = items[0];
    const last = items[items.length - 1];
    return {
      items: items.map((i) => itemDescriptor(obj, i)),
      meta: {
        previous_token:
          hasPrev && first ? encodePageToken({ order: query.order, from: first.key, reverse: true }) : null,
        next_token: hasNext && last ? encodePageToken({ order: query.order, from: last.key, reverse: false }) : null,
      },
    };
  }
}

const isOrder = (o: string): o is 'asc' | 'desc' => o === 'asc' || o === 'desc';
const flip = (o: 'asc' | 'desc'): 'asc' | 'desc' => (o === 'asc' ? 'desc' : 'asc');

/** The client does not need the data echoed back (it keeps its own copy). */
function withoutData(d: Record<string, unknown>): Record<string, unknown> {
  const { data: _data, ...rest } = d;
  return rest;
}

function methodNotAllowed(): SyncApiError {
  return new SyncApiError(405, 20004, 'Method not allowed');
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw badRequest('Invalid request body');
  return parsed.data;
}

export function splitPath(path: string): string[] {
  if (path.length > 2048) throw badRequest('Path too long');
  try {
    return path
      .split('/')
      .filter((s) => s.length > 0)
      .map((s) => decodeURIComponent(s));
  } catch {
    throw badRequest('Malformed path');
  }
}

/** Twilsock passes query values undecoded (split on & and =), possibly repeated. */
function param(params: Record<string, unknown>, name: string): string | undefined {
  const v = params[name];
  if (typeof v !== 'string') return undefined;
  try {
    return decodeURIComponent(v);
  } catch {
    throw badRequest(`Malformed ${name}`);
  }
}

function header(headers: Record<string, unknown>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === lower && typeof v === 'string') return v;
  }
  return undefined;
}
