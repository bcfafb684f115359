import { randomBytes } from 'node:crypto';
import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';

/** A step of an OPAQUE flow the server must remember between two requests. */
export type AuthFlow =
  | { kind: 'login'; identity: string; state: string }
  | { kind: 'reregister'; identity: string; purpose: 'password' | 'migrate' };

/**
 * Flow state under a random id with a short TTL, taken at most once (GETDEL): a login state cannot
 * be replayed, and an abandoned one vanishes on its own.
 */
export class AuthFlows {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  async put(flow: AuthFlow, ttlSeconds: number): Promise<string> {
    const id = randomBytes(24).toString('base64url');
    await this.redis.set(this.keys.authFlow(id), JSON.stringify(flow), 'EX', ttlSeconds);
    return id;
  }

  async take<K extends AuthFlow['kind']>(id: string, kind: K): Promise<Extract<AuthFlow, { kind: K }> | null> {
    const raw = await this.redis.getdel(this.keys.authFlow(id));
    if (raw === null) return null;
    const flow = JSON.parse(raw) as AuthFlow;
    return flow.kind === kind ? (flow as Extract<AuthFlow, { kind: K }>) : null;
  }
}
