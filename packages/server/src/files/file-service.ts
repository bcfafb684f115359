import { ConduitError, envelopeSha256, POINTER_VERSION } from '@conduit/shared';
import type { Endpoint, PointerRegistration, PointerV1, RegisterPointerRequest } from '@conduit/shared';
import { pointerClaim } from '../limits/claims.js';
import type { Quotas } from '../limits/quotas.js';
import type { ObjectIndex } from '../lifecycle/object-index.js';
import type { ObjectService } from './object-service.js';
import type { PointerRegistry } from './pointer-registry.js';

/** Registrations refused without writing the pointer: its claim is given back at once. */
const REFUSED = new Set(['POINTER_EXISTS', 'GROUP_NOT_FOUND']);

/**
 * Sending a file: the sender hands over the whole pointer of an object it uploaded. The server
 * checks it against the stored object, binds it in the ledger (id, group, object, sender endpoint,
 * envelope digest) and publishes the Sync item itself: members only read the map.
 */
export class FileService {
  constructor(
    private readonly deps: {
      objects: ObjectService;
      pointers: PointerRegistry;
      quotas: Pick<Quotas, 'claim' | 'release'>;
      index: Pick<ObjectIndex, 'bound' | 'assertUploadedBy'>;
    },
  ) {}

  /**
   * A retry by the same sender with the same binding gets the registration back (`created: false`)
   * and re-publishes while pending (a crash between the two steps heals); a publishing failure is
   * a 503 the sender's retry heals.
   */
  async send(
    groupId: string,
    sender: Endpoint,
    body: RegisterPointerRequest,
  ): Promise<{ registration: PointerRegistration; created: boolean }> {
    const size = await this.deps.objects.storedSize(groupId, body.objectId);
    if (size !== body.size) {
      throw new ConduitError('VALIDATION_FAILED', 'Invalid body.', [
        { where: 'body', path: 'size', message: 'differs from the stored object' },
      ]);
    }
    await this.deps.index.assertUploadedBy(groupId, body.objectId, sender.identity);
    // Claimed before the ledger sees the pointer (a retry holds its claim already); given back when
    // the registration is refused. A pointer that leaves 'pending' stops counting (limits/quotas.ts).
    const claim = pointerClaim(groupId, body.pointerId);
    const fresh = await this.deps.quotas.claim('pointers', sender.identity, claim);
    const { registration, created } = await this.deps.pointers
      .register({
        pointerId: body.pointerId,
        groupId,
        sender,
        binding: { objectId: body.objectId, envelopeSha256: envelopeSha256(body.envelope) },
      })
      .catch(async (err: unknown) => {
        if (fresh && err instanceof ConduitError && REFUSED.has(err.code)) {
          await this.deps.quotas.release('pointers', sender.identity, claim);
        }
        throw err;
      });
    // Before publishing: once a recipient can see the pointer, lifecycle rules know the object is a file.
    await this.deps.index.bound(groupId, body.objectId, {
      state: 'file',
      pointerId: body.pointerId,
      size: body.size,
      sender,
    });
    const item: PointerV1 = {
      v: POINTER_VERSION,
      kind: 'file',
      id: body.pointerId,
      groupId,
      sender,
      objectId: body.objectId,
      size: body.size,
      envelope: body.envelope,
      createdAt: registration.createdAt,
    };
    await this.deps.pointers.publish(registration, item);
    return { registration, created };
  }
}
