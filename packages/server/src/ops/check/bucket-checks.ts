import type { BucketRule, ObjectStore } from '@conduit/shared';
import { OBJECTS_PREFIX } from '../../lifecycle/orphan-uploads.js';
import type { CheckResult } from './check-result.js';

/** Whether an enabled rule applies to every key under `objects/`. */
const coversObjects = (rule: BucketRule): boolean =>
  rule.status === 'Enabled' && rule.prefix !== undefined && OBJECTS_PREFIX.startsWith(rule.prefix);

/**
 * The bucket's lifecycle rules (deploy/s3/lifecycle.json): one must abort incomplete multipart
 * uploads under `objects/` (the backstop for uploads Conduit lost track of); a rule that expires
 * objects there deletes without a receipt.
 */
export async function checkBucketRules(store: ObjectStore, uploadTtlSeconds: number): Promise<CheckResult[]> {
  const rules = await store.bucketRules();
  const check = 's3-lifecycle';
  if (rules === 'unsupported') {
    return [
      {
        status: 'warn',
        check,
        detail:
          'the object store does not implement lifecycle rules: only the retention step "uploads" aborts multipart uploads left behind',
      },
    ];
  }
  if (rules === 'denied') {
    return [
      {
        status: 'warn',
        check,
        detail: "the server's credentials may not read the bucket's lifecycle rules (s3:GetLifecycleConfiguration)",
      },
    ];
  }
  if (rules === 'none') {
    return [
      {
        status: 'fail',
        check,
        detail: 'the bucket has no lifecycle rules: apply deploy/s3/lifecycle.json (docs/deploy.md)',
      },
    ];
  }
  const results: CheckResult[] = [];
  const abort = rules.rules.find((r) => coversObjects(r) && r.abortIncompleteAfterDays !== undefined);
  // S3 would abort uploads Conduit still holds open.
  const early = abort && abort.abortIncompleteAfterDays! * 86_400 <= uploadTtlSeconds;
  results.push(
    early
      ? {
          status: 'fail',
          check,
          detail: `rule "${abort.id}" aborts uploads after ${abort.abortIncompleteAfterDays} day(s), within CONDUIT_UPLOAD_TTL_SECONDS (${uploadTtlSeconds} s): raise its DaysAfterInitiation`,
        }
      : abort
        ? {
            status: 'ok',
            check,
            detail: `rule "${abort.id}" aborts incomplete multipart uploads after ${abort.abortIncompleteAfterDays} day(s)`,
          }
        : {
            status: 'fail',
            check,
            detail:
              'no enabled rule aborts incomplete multipart uploads under objects/: apply deploy/s3/lifecycle.json (docs/deploy.md)',
          },
  );
  const expiring = rules.rules.filter(
    (r) => r.status === 'Enabled' && r.expirationDays !== undefined && (r.prefix === undefined || coversSome(r.prefix)),
  );
  if (expiring.length > 0) {
    results.push({
      status: 'warn',
      check: 's3-expiration',
      detail:
        `rule(s) ${expiring.map((r) => `"${r.id}"`).join(', ')} expire objects: S3 deletes them without a ` +
        "deletion receipt or legal hold; retention is Conduit's (docs/lifecycle.md)",
    });
  }
  return results;
}

/** A rule prefix that can match Conduit's objects. */
const coversSome = (prefix: string): boolean => OBJECTS_PREFIX.startsWith(prefix) || prefix.startsWith(OBJECTS_PREFIX);

/** Versioning keeps deleted objects as noncurrent versions: erasure is then not provable. */
export async function checkBucketVersioning(store: ObjectStore): Promise<CheckResult> {
  const versioning = await store.bucketVersioning();
  const check = 's3-versioning';
  switch (versioning) {
    case 'off':
      return { status: 'ok', check, detail: 'versioning was never enabled: a deleted object is gone' };
    case 'unsupported':
      return { status: 'ok', check, detail: 'the object store does not implement versioning' };
    case 'denied':
      return {
        status: 'warn',
        check,
        detail: "the server's credentials may not read the bucket's versioning (s3:GetBucketVersioning)",
      };
    default:
      return {
        status: 'warn',
        check,
        detail:
          `versioning is ${versioning}: deleted objects stay as noncurrent versions, so retention and erasure ` +
          'cannot prove erasure; expire noncurrent versions or use an unversioned bucket (docs/lifecycle.md)',
      };
  }
}
