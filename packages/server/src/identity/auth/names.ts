import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConduitError } from '@conduit/shared';
import type { RedisClient } from '../../adapters/redis/connection.js';
import type { Keys } from '../../adapters/redis/keys.js';
import { ConsumeBootstrapCodeReply } from '../../redis/script-replies.js';
import { defineScripts } from '../../redis/script-loader.js';
import type { Registration, ServerConfig } from '../../config.js';

/** Reserved unless CONDUIT_RESERVED_IDENTITIES replaces the list. */
export const DEFAULT_RESERVED_IDENTITIES = [
  'admin',
  'administrator',
  'root',
  'operator',
  'security',
  'support',
  'conduit',
  'system',
  'postmaster',
  'abuse',
] as const;

/** A bootstrap code is good for a day. */
export const BOOTSTRAP_CODE_TTL_SECONDS = 24 * 3600;

const digest = (code: string) => createHash('sha256').update(code, 'utf8').digest();

/**
 * Which identity names need an operator's registration code: the configured list, every admin
 * identity (nobody becomes admin by signing up first) and names reserved at run time; every name
 * when registration is `code` (closed sign-up). Names compare case-insensitively, so `Admin` is
 * as reserved as `admin`.
 */
export class NamePolicy {
  private readonly configured: Set<string>;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    reserved: readonly string[],
    admins: readonly string[],
    private readonly registration: Registration = 'open',
  ) {
    this.configured = new Set([...reserved, ...admins].map((n) => n.toLowerCase()));
  }

  async isReserved(identity: string): Promise<boolean> {
    if (this.registration === 'code') return true;
    const name = identity.toLowerCase();
    if (this.configured.has(name)) return true;
    return (await this.redis.sismember(this.keys.reservedIdentities(), name)) === 1;
  }

  /** IDENTITY_RESERVED unless the name is free or `code` is its current bootstrap code (not consumed). */
  async checkRegistration(identity: string, code: string | undefined): Promise<void> {
    if (!(await this.isReserved(identity))) return;
    const stored = code === undefined ? null : await this.redis.get(this.keys.bootstrapCode(identity.toLowerCase()));
    const offered = code === undefined ? null : digest(code);
    if (stored === null || offered === null || !timingSafeEqual(Buffer.from(stored, 'hex'), offered)) {
      throw this.refusal();
    }
  }

  /** Like checkRegistration, and uses the code up (compare and delete in one step: one account per code). */
  async consumeRegistration(identity: string, code: string | undefined): Promise<void> {
    if (!(await this.isReserved(identity))) return;
    if (code === undefined) throw this.refusal();
    const used = await defineScripts(this.redis, 'consumeBootstrapCode').consumeBootstrapCode(
      [this.keys.bootstrapCode(identity.toLowerCase())],
      [digest(code).toString('hex')],
    );
    if (used !== ConsumeBootstrapCodeReply.Consumed) throw this.refusal();
  }

  private refusal(): ConduitError {
    return this.registration === 'code'
      ? new ConduitError('IDENTITY_RESERVED', 'Sign-up is closed: registering needs a code from the operator.')
      : new ConduitError('IDENTITY_RESERVED');
  }

  async reserve(identity: string): Promise<void> {
    await this.redis.sadd(this.keys.reservedIdentities(), identity.toLowerCase());
  }

  /** Reserves the name and returns a fresh one-time registration code for it (only its hash is stored). */
  async bootstrap(identity: string): Promise<string> {
    const code = randomBytes(24).toString('base64url');
    await this.reserve(identity);
    await this.redis.set(
      this.keys.bootstrapCode(identity.toLowerCase()),
      digest(code).toString('hex'),
      'EX',
      BOOTSTRAP_CODE_TTL_SECONDS,
    );
    return code;
  }
}

/** The policy `config` describes (the API and `conduit-server admin` must agree on it). */
export function namePolicyOf(config: ServerConfig, redis: RedisClient, keys: Keys): NamePolicy {
  return new NamePolicy(
    redis,
    keys,
    config.reservedIdentities ?? DEFAULT_RESERVED_IDENTITIES,
    config.adminIdentities ?? [],
    config.registration,
  );
}
