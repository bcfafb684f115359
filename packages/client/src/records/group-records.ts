import { GroupId } from '@conduit/shared';
import type { GroupFeed } from '../feed/group-feed.js';
import { parseId } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';
import { receiptSigner } from '../virgil/receipts.js';
import { RecordsClient } from './records-client.js';
import type { MergeFn } from './records-client.js';

/** The session's RecordsClient of each group (one per group, over the one replica). */
export class GroupRecords {
  private readonly clients = new Map<string, Promise<RecordsClient>>();

  constructor(
    private readonly session: ClientSession,
    private readonly feed: () => GroupFeed,
  ) {}

  /** The group's records; `merge` (set by the first call) resolves write conflicts. */
  of(groupId: string, opts: { merge?: MergeFn } = {}): Promise<RecordsClient> {
    const { session } = this;
    session.assertOpen();
    const gid = parseId(GroupId, groupId, 'group id');
    let client = this.clients.get(gid);
    if (!client) {
      client = (async () => {
        const replica = await session.replica();
        return new RecordsClient({
          groupId: gid,
          self: session.endpoint,
          api: session.api,
          keys: await session.keys(),
          replica,
          merge: opts.merge,
          log: session.log,
          sign: receiptSigner(await session.ethree()),
          // The feed applies the map's record pointers to this client while anyone follows it.
          follow: async () => session.track(await this.feed().attach(gid, {})),
        });
      })();
      client.catch(() => this.clients.delete(gid));
      this.clients.set(gid, client);
    }
    return client;
  }
}
