/**
 * `/v4/Subscriptions` (event protocol 4): per-connection subscription sets, replay of missed
 * events after `last_event_id`, and live fan-out of store events as Twilsock notifications.
 */
import { z } from 'zod';
import type { Access } from './access.js';
import { NOTIFICATION_TYPE, renderEvent, SYNC_EVENT_TYPE } from './cds-wire.js';
import { badRequest, forbidden, notFound, type SyncApiError } from './errors.js';
import type { ObjectType, SyncEvent, SyncObject, SyncStore } from './store.js';

/** One Twilsock connection as seen by the hub. */
export interface Subscriber {
  readonly identity: string;
  notify(messageType: string, payload: unknown): void;
}

const MAX_SUBSCRIPTIONS_PER_CONNECTION = 1_000;

export const SubscriptionRequest = z.object({
  event_protocol_version: z.literal(4).optional(),
  action: z.enum(['establish', 'cancel']),
  correlation_id: z.number().int().nonnegative(),
  retried_requests: z.number().int().nonnegative().optional(),
  ttl_in_s: z.number().optional(),
  reason: z.string().max(64).optional(),
  requests: z
    .array(
      z.object({
        object_sid: z.string().min(1).max(64),
        object_type: z.string().min(1).max(32),
        last_event_id: z.number().int().nullable().optional(),
      }),
    )
    .max(100),
});

export interface SubscriptionResult {
  body: Record<string, unknown>;
  /** Runs after the HTTP reply is on the wire: the client expects the reply before the events. */
  after: () => void;
}

export class SubscriptionHub {
  private readonly byObject = new Map<string, Set<Subscriber>>();
  private readonly bySubscriber = new Map<Subscriber, Set<string>>();

  constructor(
    private readonly store: SyncStore,
    private readonly access: Access,
  ) {}

  handle(sub: Subscriber, body: unknown): SubscriptionResult {
    const parsed = SubscriptionRequest.safeParse(body);
    if (!parsed.success) throw badRequest('Invalid subscription request');
    const { action, correlation_id: correlationId, requests } = parsed.data;
    const tasks: (() => void)[] = [];
    for (const r of requests) {
      tasks.push(
        action === 'establish'
          ? this.establish(sub, correlationId, r.object_sid, r.object_type, r.last_event_id ?? null)
          : this.cancel(sub, correlationId, r.object_sid, r.object_type),
      );
    }
    return {
      // The client re-pokes a subscription that shows no sign of life within this window.
      body: { estimated_delivery_in_ms: 5_000, max_batch_size: 100, ttl_in_s: -1 },
      after: () => tasks.forEach((t) => t()),
    };
  }

  /** Forgets a closed connection. */
  detach(sub: Subscriber): void {
    for (const sid of this.bySubscriber.get(sub) ?? []) this.byObject.get(sid)?.delete(sub);
    this.bySubscriber.delete(sub);
  }

  /** Store listener: delivers a live event to every connection subscribed to its object. */
  publish(event: SyncEvent): void {
    const subs = this.byObject.get(event.objectSid);
    if (!subs) return;
    const obj = this.store.findBySid(event.objectSid);
    for (const sub of [...subs]) {
      if (obj && !this.access.can(obj, sub.identity, 'read')) {
        // Permission was revoked: end the subscription the way the service does.
        this.remove(sub, event.objectSid);
        sub.notify(SYNC_EVENT_TYPE, failed(event.objectSid, event.objectType, null, forbidden()));
        continue;
      }
      sub.notify(NOTIFICATION_TYPE[event.objectType], renderEvent(event));
    }
    if (event.kind === 'removed') {
      for (const sub of subs) this.bySubscriber.get(sub)?.delete(event.objectSid);
      this.byObject.delete(event.objectSid);
    }
  }

  private establish(
    sub: Subscriber,
    correlationId: number,
    sid: string,
    type: string,
    lastEventId: number | null,
  ): () => void {
    const obj = this.store.findBySid(sid);
    let error: SyncApiError | null = null;
    if (!obj || obj.type !== type) error = notFound(`${type} ${sid}`, type === 'list' ? 54150 : 54200);
    else if (!this.access.can(obj, sub.identity, 'read')) error = forbidden();
    else if ((this.bySubscriber.get(sub)?.size ?? 0) >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      error = badRequest('Too many subscriptions on this connection', 54010);
    }
    if (error || !obj) {
      const err = error ?? notFound(sid);
      return () => sub.notify(SYNC_EVENT_TYPE, failed(sid, type, correlationId, err));
    }
    this.add(sub, obj);
    return () => this.replay(sub, obj, correlationId, lastEventId);
  }

  private replay(sub: Subscriber, obj: SyncObject, correlationId: number, lastEventId: number | null): void {
    if (lastEventId !== null) {
      for (const e of this.store.eventsAfter(obj, lastEventId)) {
        sub.notify(SYNC_EVENT_TYPE, { ...renderEvent(e), correlation_id: correlationId });
      }
    }
    sub.notify(SYNC_EVENT_TYPE, {
      event_type: 'subscription_established',
      correlation_id: correlationId,
      event_protocol_version: 4,
      event: {
        object_sid: obj.sid,
        object_type: obj.type,
        replay_status: 'completed',
        last_event_id: obj.lastEventId,
      },
    });
  }

  private cancel(sub: Subscriber, correlationId: number, sid: string, type: string): () => void {
    this.remove(sub, sid);
    return () =>
      sub.notify(SYNC_EVENT_TYPE, {
        event_type: 'subscription_canceled',
        correlation_id: correlationId,
        event_protocol_version: 4,
        event: { object_sid: sid, object_type: type },
      });
  }

  private add(sub: Subscriber, obj: SyncObject): void {
    let objects = this.bySubscriber.get(sub);
    if (!objects) this.bySubscriber.set(sub, (objects = new Set()));
    objects.add(obj.sid);
    let subs = this.byObject.get(obj.sid);
    if (!subs) this.byObject.set(obj.sid, (subs = new Set()));
    subs.add(sub);
  }

  private remove(sub: Subscriber, sid: string): void {
    this.bySubscriber.get(sub)?.delete(sid);
    this.byObject.get(sid)?.delete(sub);
  }
}

/** `correlation_id: null` matches an established subscription (its pending correlation id is null). */
function failed(sid: string, type: ObjectType | string, correlationId: number | null, err: SyncApiError) {
  return {
    event_type: 'subscription_failed',
    correlation_id: correlationId,
    event_protocol_version: 4,
    event: { object_sid: sid, object_type: type, error: err.toBody() },
  };
}
