import { ConduitError, endpointKey, serializePointer, syncMapOf } from '@conduit/shared';
import type { AnyPointer, Endpoint, PointerRegistration, PointerState } from '@conduit/shared';
import { ledgerRetentionSeconds } from '../delivery/retention.js';
import { setItemHealing, type HealDeps } from '../delivery/sync/heal.js';
import {
  PUBLISH_RATE_LIMIT_RETRY,
  retryRateLimited,
  type RateLimitRetryPolicy,
} from '../delivery/sync/rate-limit-retry.js';
import { participatingGroup } from '../groups/membership.js';
import type { DeviceRepository } from '../adapters/redis/devices.js';
import { participantsOf } from '../adapters/redis/groups.js';
import type { PointerBinding } from '../adapters/redis/pointers.js';

/** A membership or device removal landing during registration makes the snapshot stale: retry. */
const REGISTER_ATTEMPTS = 5;

export interface PointerInput {
  pointerId: string;
  groupId: string;
  /** From the session, never from a request body. */
  sender: Endpoint;
  binding: PointerBinding;
}

export interface PointerRegistryDeps extends HealDeps {
  devices: DeviceRepository;
  itemTtlSeconds: number;
}

/**
 * The acknowledgement ledger's front door for file pointers: registers a
 * pointer with who must acknowledge it, then publishes its Sync item.
 */
export class PointerRegistry {
  constructor(private readonly deps: PointerRegistryDeps) {}

  /**
   * Registers a pointer bound to its object and envelope digest. Idempotent for its sender: a
   * retry with the same binding gets the first registration back with `created: false`; another
   * sender or another binding gets 409 POINTER_EXISTS.
   */
  async register(input: PointerInput): Promise<{ registration: PointerRegistration; created: boolean }> {
    try {
      const createdAt = new Date();
      const expected = await this.registerWithSnapshot(input, createdAt);
      // With nobody to wait for, the ledger queued the purge at once.
      const state = expected.length === 0 ? 'purging' : 'pending';
      return { registration: this.registrationOf(input, expected, state, createdAt.toISOString()), created: true };
    } catch (err) {
      if (!(err instanceof ConduitError) || err.code !== 'POINTER_EXISTS') throw err;
      const existing = await this.deps.ledger.get(input.pointerId);
      if (
        existing?.groupId !== input.groupId ||
        endpointKey(existing.sender) !== endpointKey(input.sender) ||
        existing.objectId !== input.binding.objectId ||
        existing.envelopeSha256 !== input.binding.envelopeSha256
      ) {
        throw err;
      }
      return {
        registration: this.registrationOf(input, existing.expected, existing.state, existing.createdAt),
        created: false,
      };
    }
  }

  /**
   * Writes the pointer's Sync item while the ledger still wants it ('pending'): a later state means
   * the copy was (being) deleted and must not come back. The item is built by the caller from the
   * validated registration and kept in the ledger first, for re-publishing should Sync lose it; a
   * missing map is re-provisioned (healed) on the way. Sync's rate limit (429) is waited out for a
   * bounded time, then answered RATE_LIMITED (429); other Sync failures are 503s. Either way the
   * pointer stays pending: the sender's retry, or else the reconciler's healing pass, publishes it.
   */
  async publish(
    reg: PointerRegistration,
    item: AnyPointer,
    retry: RateLimitRetryPolicy = PUBLISH_RATE_LIMIT_RETRY,
  ): Promise<void> {
    if (reg.state !== 'pending') return;
    const json = serializePointer(item);
    if (!(await this.deps.ledger.keepPublished(reg.pointerId, reg.groupId, json))) return;
    const data = JSON.parse(json) as Record<string, unknown>;
    try {
      await retryRateLimited(
        () => setItemHealing(this.deps, reg.groupId, reg.itemKey, data, reg.itemTtlSeconds, 'publish'),
        retry,
      );
    } catch (cause) {
      if (cause instanceof ConduitError && ['DEPENDENCY_UNAVAILABLE', 'RATE_LIMITED'].includes(cause.code)) throw cause;
      this.deps.logger.error({ err: cause, pointerId: reg.pointerId }, 'publishing a pointer failed');
      throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'Publishing the pointer to Sync failed; retry.');
    }
  }

  /** The registration the sender gets back (the server published the item at these coordinates). */
  private registrationOf(
    input: { pointerId: string; groupId: string },
    expected: Endpoint[],
    state: PointerState,
    createdAt: string,
  ): PointerRegistration {
    return {
      pointerId: input.pointerId,
      groupId: input.groupId,
      syncMap: syncMapOf(input.groupId),
      itemKey: input.pointerId,
      itemTtlSeconds: this.deps.itemTtlSeconds,
      expected,
      state,
      createdAt,
    };
  }

  /**
   * Snapshots who must acknowledge (every device of every participant but the sender's) and
   * registers the pointer, atomically checked against the group's membership epoch.
   */
  private async registerWithSnapshot(input: PointerInput, createdAt: Date): Promise<Endpoint[]> {
    for (let attempt = 0; attempt < REGISTER_ATTEMPTS; attempt += 1) {
      const epoch = await this.deps.ledger.epochOf(input.groupId);
      const group = await participatingGroup(this.deps.groups, input.groupId, input.sender.identity);
      if (!group) throw new ConduitError('GROUP_NOT_FOUND');
      const devicesByIdentity = await this.deps.devices.ofMany(participantsOf(group));
      const expected: Endpoint[] = [];
      for (const [member, devices] of devicesByIdentity) {
        for (const device of devices) {
          if (member !== input.sender.identity || device !== input.sender.deviceId) {
            expected.push({ identity: member, deviceId: device });
          }
        }
      }
      const outcome = await this.deps.ledger.register({
        ...input,
        expected,
        createdAt,
        epoch,
        retentionSeconds: ledgerRetentionSeconds(this.deps.itemTtlSeconds),
      });
      if (outcome === 'created') return expected;
      if (outcome === 'exists') throw new ConduitError('POINTER_EXISTS');
    }
    throw new ConduitError('DEPENDENCY_UNAVAILABLE', 'Group membership kept changing; try again.');
  }
}
