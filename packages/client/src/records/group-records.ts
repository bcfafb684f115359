import { ConduitError, GroupId, MAX_INLINE_VALUE_BYTES } from '@conduit/shared';
import type { GroupFeed } from '../feed/group-feed.js';
import { parseId } from '../session/errors.js';
import type { ClientSession } from '../session/session.js';
import { RecordsClient } from './records-client.js';
import type { MergeFn } from './writer.js';

export interface RecordsOptions {
  /** Resolves write conflicts (default: last writer wins). */
  merge?: MergeFn;
  /** Values whose JSON is at most this many bytes travel inside the envelope (default 4096, 0-8192). */
  inlineMaxBytes?: number;
}

/** The session's RecordsClient of each group (one per group, over the one replica). */
export class GroupRecords {
  private readonly clients = new Map<string, Promise<RecordsClient>>();

  constructor(
    private readonly session: ClientSession,
    private readonly feed: () => GroupFeed,
  ) {}

  /** The group's records; the options are set by the first call. */
  of(groupId: string, opts: RecordsOptions = {}): Promise<RecordsClient> {
    const { session } = this;
    session.assertOpen();
    const gid = parseId(GroupId, groupId, 'group id');
    const { inlineMaxBytes } = opts;
    if (
      inlineMaxBytes !== undefined &&
      (!Number.isInteger(inlineMaxBytes) || inlineMaxBytes < 0 || inlineMaxBytes > MAX_INLINE_VALUE_BYTES)
    ) {
      throw new ConduitError(
        'VALIDATION_FAILED',
        `inlineMaxBytes must be an integer from 0 to ${MAX_INLINE_VALUE_BYTES}.`,
      );
    }
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
          inlineMaxBytes,
          log: session.log,
          // The feed hands the map's `feed` notifications to this client while anyone follows it.
          follow: () => this.feed().attach(gid, {}),
          track: (stop) => session.track(stop),
        });
      })();
      client.catch(() => this.clients.delete(gid));
      this.clients.set(gid, client);
    }
    return client;
  }
}
