import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from './connection.js';
import type { Keys } from './keys.js';
import { defineScripts } from '../../redis/script-loader.js';
import type { RotateRefreshReply } from '../../redis/script-replies.js';

/** How long a refresh token family lives, and how long one of its tokens may lie unused. */
export interface RefreshLifetimes {
  ttlSeconds: number;
  idleSeconds: number;
}

export interface Epochs {
  epoch: number;
  deviceEpoch: number;
}

export type RotateResult =
  | { status: 'rotated'; token: string; expiresAt: Date; epochs: Epochs }
  | { status: Exclude<RotateRefreshReply, 'rotated'> };

/** 256 random bits, base64url: the shared RefreshToken schema's 43 characters. */
const newToken = (): string => randomBytes(32).toString('base64url');
/** A fast hash suffices: the token is random, so there is no dictionary to slow down. */
const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * Dev-mode refresh tokens, one family per device (OAuth 2.1 rotation with reuse detection). Only
 * hashes are stored: a copy of Redis cannot be replayed as a refresh token.
 */
export class RefreshTokens {
  private readonly scripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly lifetimes: RefreshLifetimes,
  ) {
    this.scripts = defineScripts(redis, 'rotateRefresh');
  }

  /** Starts the device's family (a login), replacing any earlier one; returns its first token. */
  async start(
    identity: string,
    deviceId: string,
    epochs: Epochs,
    now = Date.now(),
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = newToken();
    const key = this.keys.refreshFamily(identity, deviceId);
    const expiresAt = now + this.lifetimes.ttlSeconds * 1000;
    await this.redis
      .multi()
      .del(key)
      .hset(key, {
        cur: hashOf(token),
        sep: epochs.epoch,
        dse: epochs.deviceEpoch,
        idle: now + this.lifetimes.idleSeconds * 1000,
        exp: expiresAt,
      })
      .pexpireat(key, expiresAt)
      .exec();
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** Trades `token` for the next one of its family (rotateRefresh-3.lua). */
  async rotate(identity: string, deviceId: string, token: string, now = Date.now()): Promise<RotateResult> {
    const next = newToken();
    const [status, epoch, deviceEpoch, exp] = await this.scripts.rotateRefresh(
      [
        this.keys.refreshFamily(identity, deviceId),
        this.keys.sessionState(identity),
        this.keys.revokedDevices(identity),
      ],
      [deviceId, hashOf(token), hashOf(next), now, this.lifetimes.idleSeconds * 1000],
    );
    if (status !== 'rotated') return { status };
    return {
      status,
      token: next,
      expiresAt: new Date(exp ?? now),
      epochs: { epoch: epoch ?? 0, deviceEpoch: deviceEpoch ?? 0 },
    };
  }
}
