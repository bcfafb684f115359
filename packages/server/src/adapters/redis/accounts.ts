import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import { CreateOpaqueAccountReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';

/**
 * Dev-mode local accounts: a hash per identity with `opaque` (the OPAQUE registration record) or,
 * for accounts not migrated yet, `hash` (the legacy scrypt hash); plus the set of known identities.
 */
export class AccountRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  /** Stores the account unless the identity is taken; returns whether it was created. */
  async create(identity: string, passwordHash: string): Promise<boolean> {
    // Known first: a taken identity is known already, and a crash in between leaves no unknown account.
    await this.redis.set(this.keys.knownIdentity(identity), '1');
    return (await this.redis.hsetnx(this.keys.account(identity), 'hash', passwordHash)) === 1;
  }

  /** Replaces the hash of an existing account (never creates one). */
  async setPasswordHash(identity: string, passwordHash: string): Promise<void> {
    await this.redis.hset(this.keys.account(identity), 'hash', passwordHash);
  }

  async passwordHash(identity: string): Promise<string | null> {
    return this.redis.hget(this.keys.account(identity), 'hash');
  }

  /** The OPAQUE record, and whether the account still has (only) a legacy hash. */
  async credentials(identity: string): Promise<{ record: string | null; legacy: boolean }> {
    const [record, hash] = await this.redis.hmget(this.keys.account(identity), 'opaque', 'hash');
    return { record: record ?? null, legacy: record == null && hash != null };
  }

  /** Creates an OPAQUE account unless the identity is taken (by either kind); whether it was created. */
  async createOpaque(identity: string, record: string): Promise<boolean> {
    const created = await defineScripts(this.redis, 'createOpaqueAccount').createOpaqueAccount(
      [this.keys.account(identity), this.keys.knownIdentity(identity)],
      [record],
    );
    return created === CreateOpaqueAccountReply.Created;
  }

  /** Replaces the account's credentials by an OPAQUE record; the legacy hash, if any, is deleted. */
  async setOpaque(identity: string, record: string): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.account(identity), 'opaque', record)
      .hdel(this.keys.account(identity), 'hash')
      .exec();
  }
}

/** Identities the server knows: dev accounts, and anyone who registered a device (OIDC mode). */
export class IdentityDirectory {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
  ) {}

  /** Returns the identities among `identities` that are not known. */
  async unknown(identities: readonly string[]): Promise<string[]> {
    if (identities.length === 0) return [];
    // Each identity's marker is in its own slot: one EXISTS each, which ioredis pipelines per node.
    const known = await Promise.all(identities.map((id) => this.redis.exists(this.keys.knownIdentity(id))));
    return identities.filter((_, i) => known[i] !== 1);
  }
}
