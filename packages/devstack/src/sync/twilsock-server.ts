/**
 * Twilsock v3 over WebSocket as the twilsock 1.0.x client speaks it: `init` (token check, offline
 * storage id, capabilities), `update` (token refresh), `message` (CDS request/response),
 * `notification` (server push, confirmed by the client with `reply`), `client_update`
 * (token about to expire), `close` (410 when the token expires) and `telemetry.v1`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { TokenRejected, type TokenVerifier } from './auth.js';
import type { CdsRouter } from './cds-routes.js';
import { statusText } from './errors.js';
import { decodeFrame, encodeFrame, type Frame } from './framing.js';
import type { Subscriber, SubscriptionHub } from './subscriptions.js';

export const TWILSOCK_PATH = '/v3/wsconnect';
/** Comfortably above a 16 KiB item so oversize data gets a 54006 reply, not a dropped socket. */
const MAX_FRAME_BYTES = 128 * 1024;
const MAX_CONNECTIONS = 1_000;
/** Warn this long before expiry (capped to a fifth of the token's remaining life). */
const ABOUT_TO_EXPIRE_LEAD_MS = 180_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

const HttpRequest = z.object({
  host: z.string().max(256).optional(),
  path: z.string().min(1).max(2048),
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
  params: z.record(z.string(), z.union([z.string().max(2048), z.array(z.string().max(2048)).max(20)])).optional(),
  headers: z.record(z.string(), z.unknown()).optional(),
});

export class TwilsockServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly connections = new Set<Connection>();

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly router: CdsRouter,
    private readonly hub: SubscriptionHub,
  ) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.connections.size >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(ws, this.verifier, this.router);
      this.connections.add(conn);
      ws.on('close', () => {
        conn.dispose();
        this.hub.detach(conn);
        this.connections.delete(conn);
      });
    });
  }

  /** Abrupt loss of every connection: no close frame, as when a network path dies. */
  dropAll(): void {
    for (const conn of this.connections) conn.terminate();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

type ReplyStatus = { code: number; status: string; errorCode?: number; description?: string };

class Connection implements Subscriber {
  private claims: { identity: string; expiresAt: number } | null = null;
  private queue: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly verifier: TokenVerifier,
    private readonly router: CdsRouter,
  ) {
    ws.on('message', (data: RawData) => {
      this.queue = this.queue.then(() => this.onFrame(data)).catch(() => this.abort(1011));
    });
    ws.on('error', () => this.ws.terminate());
  }

  get identity(): string {
    return this.claims?.identity ?? '';
  }

  notify(messageType: string, payload: unknown): void {
    if (!this.claims) return;
    this.send(
      { method: 'notification', id: newId(), message_type: messageType, payload_type: 'application/json' },
      payload,
    );
  }

  terminate(): void {
    this.ws.terminate();
  }

  dispose(): void {
    this.clearTimers();
    this.claims = null;
  }

  private async onFrame(data: RawData): Promise<void> {
    let frame: Frame;
    try {
      frame = decodeFrame(toBuffer(data));
    } catch {
      this.send({ method: 'close', id: newId(), status: { code: 406, status: 'Not Acceptable' } });
      this.abort(1002);
      return;
    }
    const { header } = frame;
    switch (header.method) {
      case 'init':
      case 'update':
        return this.authenticate(header.method, header.id, header.token);
      case 'message':
        return this.message(frame);
      case 'reply':
        return; // confirmation of a notification we pushed
      case 'close':
        this.ws.close(1000);
        return;
      case 'telemetry.v1':
      case 'put_notification_ctx':
      case 'delete_notification_ctx':
        this.reply(header.id, ok());
        return;
      default:
        this.reply(header.id, { code: 400, status: 'BAD_REQUEST', description: 'Unknown method' });
    }
  }

  private async authenticate(method: 'init' | 'update', id: string, token: unknown): Promise<void> {
    try {
      const claims = await this.verifier.verify(token);
      if (method === 'update' && this.claims && claims.identity !== this.claims.identity) {
        throw new TokenRejected(51130, 'Token identity differs from the connection identity');
      }
      this.claims = claims;
      this.scheduleTokenTimers(claims.expiresAt);
      if (method === 'update') {
        this.reply(id, ok());
        return;
      }
      this.reply(id, ok(), {
        capabilities: ['client_update', 'offline_storage', 'telemetry.v1'],
        continuation_token: randomBytes(16).toString('hex'),
        continuation_token_status: { reissued: true, reissue_reason: 'NEW_SESSION' },
        offline_storage: { data_sync: { storage_id: `emulator-${randomUUID()}` } },
        init_registrations: [],
      });
    } catch (err) {
      if (!(err instanceof TokenRejected)) throw err;
      // 'UNAUTHORIZED' is what twilio-sync's updateToken() matches to report code 51130.
      this.reply(id, { code: 401, status: 'UNAUTHORIZED', errorCode: err.errorCode, description: err.message });
    }
  }

  private message(frame: Frame): void {
    const { header } = frame;
    if (!this.claims) {
      this.reply(header.id, { code: 401, status: 'UNAUTHORIZED', errorCode: 51130, description: 'Not initialised' });
      return;
    }
    const parsed = HttpRequest.safeParse(header.http_request);
    if (!parsed.success) {
      this.reply(header.id, { code: 400, status: 'BAD_REQUEST', description: 'Invalid http_request' });
      return;
    }
    const req = parsed.data;
    const res = this.router.handle(this, {
      method: req.method,
      path: req.path,
      params: req.params ?? {},
      headers: req.headers ?? {},
      body: frame.payload,
    });
    this.reply(
      header.id,
      ok(),
      {
        http_status: { code: res.status, status: statusText(res.status) },
        http_headers: { 'Content-Type': 'application/json', ...res.headers },
      },
      res.body,
    );
    res.after?.();
  }

  private scheduleTokenTimers(expiresAt: number): void {
    this.clearTimers();
    const remaining = expiresAt - Date.now();
    const lead = Math.min(ABOUT_TO_EXPIRE_LEAD_MS, remaining / 5);
    this.timers.push(
      setTimeout(
        () => this.send({ method: 'client_update', id: newId(), client_update_type: 'token_about_to_expire' }),
        Math.min(MAX_TIMER_MS, Math.max(0, remaining - lead)),
      ),
      setTimeout(
        () => {
          this.send({ method: 'close', id: newId(), status: { code: 410, status: 'TOKEN_EXPIRED' } });
          this.claims = null;
          this.ws.close(1000);
        },
        Math.min(MAX_TIMER_MS, Math.max(0, remaining)),
      ),
    );
  }

  private clearTimers(): void {
    this.timers.forEach(clearTimeout);
    this.timers = [];
  }

  private reply(id: string, status: ReplyStatus, extra: Record<string, unknown> = {}, payload?: unknown): void {
    this.send({ method: 'reply', id, payload_type: 'application/json', status, ...extra }, payload);
  }

  private send(header: Record<string, unknown>, payload?: unknown): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeFrame(header, payload));
  }

  private abort(code: number): void {
    this.clearTimers();
    this.ws.close(code);
  }
}

const ok = (): ReplyStatus => ({ code: 200, status: 'OK' });
const newId = (): string => `TM${randomUUID().replace(/-/g, '')}`;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
