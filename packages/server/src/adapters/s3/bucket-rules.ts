import type { LifecycleRule } from '@aws-sdk/client-s3';
import type { BucketRule } from '@conduit/shared';

/** The parts of an S3 lifecycle rule `conduit-server check` looks at (ports.ts BucketRule). */
export function bucketRuleOf(rule: LifecycleRule): BucketRule {
  const filter = rule.Filter;
  // A rule-level Prefix is S3's legacy form; an empty or prefix-only filter is by prefix alone.
  const byPrefixOnly =
    !filter ||
    (!filter.Tag &&
      !filter.And &&
      filter.ObjectSizeGreaterThan === undefined &&
      filter.ObjectSizeLessThan === undefined);
  const prefix = byPrefixOnly ? (filter?.Prefix ?? rule.Prefix ?? '') : undefined;
  const abortDays = rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation;
  return {
    id: rule.ID ?? '',
    status: rule.Status === 'Enabled' ? 'Enabled' : 'Disabled',
    ...(prefix === undefined ? {} : { prefix }),
    ...(abortDays === undefined ? {} : { abortIncompleteAfterDays: abortDays }),
    ...(rule.Expiration?.Days === undefined ? {} : { expirationDays: rule.Expiration.Days }),
  };
}
