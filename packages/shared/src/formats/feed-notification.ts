import { z } from 'zod';
import { ConduitError } from '../errors.js';
import { GroupId } from '../ids.js';

/** The feed notification's version; a reader refuses any other (FORMAT_UNSUPPORTED) before parsing. */
export const FEED_NOTIFICATION_VERSION = 1;
/** Key of the one item in a group's Sync map that announces new record versions. */
export const FEED_NOTIFICATION_ITEM_KEY = 'feed';

/**
 * Feed notification v1 (docs/records.md): "the group's record feed reached `seq`". The server
 * rewrites this one item, coalesced per group, instead of publishing one item per version; it
 * carries no content (the versions stay in the server's feed), so a reader only compares `seq`
 * with its cursor and pulls feed pages.
 */
export const FeedNotificationV1 = z.strictObject({
  v: z.literal(FEED_NOTIFICATION_VERSION),
  kind: z.literal('feed'),
  groupId: GroupId,
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type FeedNotificationV1 = z.infer<typeof FeedNotificationV1>;

export function feedNotificationOf(groupId: string, seq: number): FeedNotificationV1 {
  return FeedNotificationV1.parse({ v: FEED_NOTIFICATION_VERSION, kind: 'feed', groupId, seq });
}

/** Parses untrusted Sync item data: version first, then the strict schema. */
export function parseFeedNotification(data: unknown): FeedNotificationV1 {
  if (typeof data !== 'object' || data === null || (data as { v?: unknown }).v !== FEED_NOTIFICATION_VERSION) {
    throw new ConduitError('FORMAT_UNSUPPORTED', 'Unsupported feed notification version.');
  }
  const result = FeedNotificationV1.safeParse(data);
  if (!result.success) {
    throw new ConduitError('VALIDATION_FAILED', 'Invalid feed notification.', z.flattenError(result.error).fieldErrors);
  }
  return result.data;
}
