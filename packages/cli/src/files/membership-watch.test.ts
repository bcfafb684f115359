import { ConduitError } from '@conduit/shared';
import type { ConduitClient } from '@conduit/client';
import { describe, expect, it } from 'vitest';
import { watchMembership } from './membership-watch.js';

/** A client whose group view answers as `answer` says (the watch only asks getGroup). */
function clientAnswering(answer: () => Promise<{ owner: string; members: string[] }>): ConduitClient {
  return { identity: 'bob', getGroup: answer } as unknown as ConduitClient;
}

describe('watchMembership.explain', () => {
  it('turns a lost-access failure into REMOVED_FROM_GROUP once the group no longer lists the identity', async () => {
    const client = clientAnswering(async () => ({ owner: 'alice', members: [] }));
    const watch = watchMembership(client, 'g1', new AbortController().signal);
    try {
      const err = await watch.explain(new ConduitError('GROUP_NOT_FOUND', 'gone')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'REMOVED_FROM_GROUP' });
      expect(watch.signal.aborted).toBe(true);
    } finally {
      watch.dispose();
    }
  });

  it('rethrows the failure as it was while the identity is still a member, or for other errors', async () => {
    const client = clientAnswering(async () => ({ owner: 'alice', members: ['bob'] }));
    const watch = watchMembership(client, 'g1', new AbortController().signal);
    try {
      const lost = new ConduitError('FORBIDDEN', 'map access refused');
      await expect(watch.explain(lost)).rejects.toBe(lost);
      const outage = new ConduitError('TRANSPORT', 'down');
      await expect(watch.explain(outage)).rejects.toBe(outage);
      expect(watch.signal.aborted).toBe(false);
    } finally {
      watch.dispose();
    }
  });
});
