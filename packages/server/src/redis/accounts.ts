import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

/** Dev-mode local accounts: identity -> encoded password hash; plus the set of known identities. */
export class AccountRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Stores the account unless the identity is taken; returns whether it was created. */
  async create(identity: string, passwordHash: string): Promise<boolean> {
    const created = await this.redis.hsetnx(this.keys.account(identity), 'hash', passwordHash);
    if (created === 1) await this.redis.sadd(this.keys.identities(), identity);
    return created === 1;
  }

  /** Replaces the hash of an existing account (never creates one). */
  async setPasswordHash(identity: string, passwordHash: string): Promise<void> {
    await this.redis.hset(this.keys.account(identity), 'hash', passwordHash);
  }

  async passwordHash(identity: string): Promise<string | null> {
    return this.redis.hget(this.keys.account(identity), 'hash');
  }
}

/** Identities the server knows: dev accounts, and anyone who registered a device (OIDC mode). */
export class IdentityDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Returns the identities among `identities` that are not known. */
  async unknown(identities: readonly string[]): Promise<string[]> {
    if (identities.length === 0) return [];
    const flags = await this.redis.smismember(this.keys.identities(), ...identities);
    return identities.filter((_, i) => flags[i] !== 1);
  }
}
