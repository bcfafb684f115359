import { z } from 'zod';
import { GroupRetentionPolicy } from './retention.js';

/** Where an effective rule comes from: the group's own policy, or the deployment's configuration. */
export const RetentionSource = z.enum(['group', 'deployment']);
export type RetentionSource = z.infer<typeof RetentionSource>;

export const EffectiveRetention = z.strictObject({
  /** The rule's canonical text (`keep`, `30d`, `delivered+7d`). */
  rule: z.string().max(32),
  source: RetentionSource,
});
export type EffectiveRetention = z.infer<typeof EffectiveRetention>;

/** GET and PUT /v1/groups/:groupId/retention: the group's own rules and what applies to each class. */
export const GroupRetentionView = z.strictObject({
  groupId: z.string().max(64),
  policy: GroupRetentionPolicy,
  effective: z.strictObject({ files: EffectiveRetention, records: EffectiveRetention }),
});
export type GroupRetentionView = z.infer<typeof GroupRetentionView>;
