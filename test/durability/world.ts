/** Drives the API over HTTP as clients would: accounts, devices, groups, uploads, pointers, acks. */
import { randomBytes } from 'node:crypto';
import { envelopeSha256 } from '@conduit/shared';
import { hex, sleep, type SyncRest } from './harness.js';
import { HttpClient, login, registerAccount } from '@conduit/client';

export interface Endpoint {
  identity: string;
  deviceId: string;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

const RETRY_DEADLINE_MS = 25_000;
const OBJECT_BYTES = 256;
/** The server only hashes and forwards the sealed envelope: any base64 stands in for one. */
const ENVELOPE = Buffer.from('sealed envelope').toString('base64');
/** Receipts name the binding; the server does not verify their signature (the sender's SDK does). */
const RECEIPT = { envelopeSha256: envelopeSha256(ENVELOPE), signature: 'c2ln' };

export class World {
  /** Session of each endpoint (`identity:deviceId`): sessions are bound to one device. */
  readonly tokens = new Map<string, string>();
  readonly sender: Endpoint = { identity: 'alice', deviceId: 'alice-phone' };
  /** Every device of every participant except the sending one: who must acknowledge. */
  readonly recipients: Endpoint[] = [
    { identity: 'alice', deviceId: 'alice-laptop' },
    { identity: 'bob', deviceId: 'bob-phone-1' },
    { identity: 'bob', deviceId: 'bob-laptop' },
    { identity: 'carol', deviceId: 'carol-phone' },
    { identity: 'carol', deviceId: 'carol-desk' },
  ];
  /** Acks the API confirmed with 200: none of them may ever be lost. */
  readonly confirmed = new Set<string>();
  acksSent = 0;
  /** The object each registered pointer is bound to (acks must name it). */
  private readonly objectOf = new Map<string, string>();

  constructor(
    private readonly apiUrl: string,
    private readonly rest: SyncRest,
  ) {}

  /**
   * One call, retried while the API or its dependencies are down (connection refused, 5xx), as a
   * client with retries would; any other answer is returned.
   */
  async call(method: string, path: string, who: Endpoint | string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = {};
    const token = typeof who === 'string' ? undefined : this.tokens.get(`${who.identity}:${who.deviceId}`);
    if (token) headers.authorization = `Bearer ${token}`;
    if (typeof who !== 'string') headers['conduit-device'] = who.deviceId;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const deadline = Date.now() + RETRY_DEADLINE_MS;
    for (;;) {
      try {
        const res = await fetch(this.apiUrl + path, {
          method,
          headers,
          signal: AbortSignal.timeout(5_000),
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await res.text();
        if (res.status < 500)
          return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
      } catch {
        // connection refused or reset: the API is down or restarting
      }
      if (Date.now() > deadline) throw new Error(`${method} ${path} kept failing for ${RETRY_DEADLINE_MS} ms`);
      await sleep(100);
    }
  }

  private async expect(status: number[], method: string, path: string, who: Endpoint | string, body?: unknown) {
    const reply = await this.call(method, path, who, body);
    if (!status.includes(reply.status)) {
      throw new Error(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    return reply.body;
  }

  /**
   * Accounts and sessions through the SDK's OPAQUE flows (before any fault is injected); an
   * identity reserved for an admin registers with its bootstrap code from `codes`.
   */
  async setup(codes: Record<string, string> = {}): Promise<void> {
    const api = new HttpClient({ baseUrl: this.apiUrl });
    const passwords = new Map<string, string>();
    for (const identity of ['alice', 'bob', 'carol']) {
      const password = `${identity}-${randomBytes(9).toString('base64url')}`;
      await registerAccount(api, identity, password, codes[identity]);
      passwords.set(identity, password);
    }
    for (const device of [this.sender, ...this.recipients]) {
      const { identity, deviceId } = device;
      const session = await login(api, identity, passwords.get(identity) ?? '', deviceId);
      if (session.legacy) throw new Error('unexpected legacy account');
      this.tokens.set(`${identity}:${deviceId}`, session.session.token);
      await this.expect([200, 201], 'PUT', `/v1/devices/${deviceId}`, device);
    }
  }

  /** A group with every user, and one small object uploaded through its presigned PUT. */
  async group(): Promise<{ groupId: string; objectId: string }> {
    const groupId = hex();
    await this.expect([201], 'POST', '/v1/groups', this.sender, { groupId, members: ['bob', 'carol'] });
    const bytes = randomBytes(OBJECT_BYTES);
    const upload = await this.expect([201], 'POST', `/v1/groups/${groupId}/objects`, this.sender, {
      size: bytes.length,
    });
    const put = await fetch(upload.url as string, {
      method: 'PUT',
      headers: upload.headers as Record<string, string>,
      body: bytes,
    });
    if (put.status !== 200) throw new Error(`presigned PUT answered ${put.status}`);
    return { groupId, objectId: upload.objectId as string };
  }

  /**
   * Registers `count` pointers; the server publishes each one's Sync item. A register retried
   * after a 503 (Sync refused the publish) answers 200 and publishes again.
   */
  async pointers(groupId: string, objectId: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const pointerId = hex();
      const reg = await this.expect([200, 201], 'POST', `/v1/groups/${groupId}/pointers`, this.sender, {
        pointerId,
        objectId,
        size: OBJECT_BYTES,
        envelope: ENVELOPE,
      });
      if ((reg.expected as unknown[]).length !== this.recipients.length) throw new Error('unexpected recipients');
      this.objectOf.set(pointerId, objectId);
      ids.push(pointerId);
    }
    return ids;
  }

  /** Every recipient (or each of `endpoints`) acknowledges every pointer, `concurrency` calls at a time, retrying until confirmed. */
  async ackAll(pointerIds: string[], concurrency = 6, endpoints: Endpoint[] = this.recipients): Promise<void> {
    const work = pointerIds.flatMap((p) => endpoints.map((r) => [p, r] as const));
    const next = async (): Promise<void> => {
      for (let item = work.shift(); item; item = work.shift()) {
        const [pointerId, endpoint] = item;
        this.acksSent += 1;
        await this.expect([200], 'POST', `/v1/pointers/${pointerId}/ack`, endpoint, {
          ...RECEIPT,
          objectId: this.objectOf.get(pointerId),
        });
        this.confirmed.add(`${pointerId}/${endpoint.identity}:${endpoint.deviceId}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, next));
  }

  async status(pointerId: string): Promise<{ state: string; acknowledged: Endpoint[] }> {
    const body = await this.expect([200], 'GET', `/v1/pointers/${pointerId}`, this.sender);
    return body as unknown as { state: string; acknowledged: Endpoint[] };
  }

  /**
   * The recovery condition: every pointer 'purged' with every confirmed ack on record, and no item
   * left in any of the groups' Sync maps (checked through the Sync REST API).
   */
  async settled(groups: Map<string, string[]>): Promise<true | undefined> {
    for (const [groupId, pointerIds] of groups) {
      if ((await this.rest.itemKeys(groupId)).length > 0) return undefined;
      for (const pointerId of pointerIds) {
        const status = await this.status(pointerId);
        if (status.state !== 'purged') return undefined;
        const acked = new Set(status.acknowledged.map((e) => `${pointerId}/${e.identity}:${e.deviceId}`));
        for (const key of this.confirmed) {
          if (key.startsWith(`${pointerId}/`) && !acked.has(key)) throw new Error(`acknowledgement lost: ${key}`);
        }
      }
    }
    return true;
  }
}
