import { KeyTransition, MAX_KEY_TRANSITIONS } from '@conduit/shared';
import type { RedisClient } from './connection.js';

/**
 * Key-transition statements per identity (docs/identity.md): a list of the JSON-encoded
 * statements, oldest first, the newest MAX_KEY_TRANSITIONS kept. Opaque to the server: clients
 * verify the signatures; the server only checks the shape and that a caller publishes its own.
 */
export class KeyTransitionRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** Appends the statement (a repeat moves it to the end instead of duplicating it). */
  async add(identity: string, transition: KeyTransition): Promise<void> {
    const key = this.key(identity);
    const value = JSON.stringify({ statement: transition.statement, signature: transition.signature });
    await this.redis.multi().lrem(key, 0, value).rpush(key, value).ltrim(key, -MAX_KEY_TRANSITIONS, -1).exec();
  }

  async list(identity: string): Promise<KeyTransition[]> {
    const raw = await this.redis.lrange(this.key(identity), -MAX_KEY_TRANSITIONS, -1);
    return raw.flatMap((value) => {
      try {
        const parsed = KeyTransition.safeParse(JSON.parse(value));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }

  private key(identity: string): string {
    return `${this.prefix}ktx:${identity}`;
  }
}
