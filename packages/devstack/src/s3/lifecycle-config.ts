/**
 * PutBucketLifecycleConfiguration's validation, as AWS does it (docs/devstack.md lists what is
 * checked): a configuration the devstack accepts is one S3 accepts, so `deploy/s3/lifecycle.json`
 * and any rule a test sets are checked before they reach production.
 */
import S3Error from 's3rver/lib/models/error.js';
import { isElement, many, malformedXml, parseXml, textOf, type XmlNode } from './s3-xml.js';

const MAX_RULES = 1000;
const MAX_ID_LENGTH = 255;
const ACTIONS = [
  'Expiration',
  'Transition',
  'NoncurrentVersionExpiration',
  'NoncurrentVersionTransition',
  'AbortIncompleteMultipartUpload',
] as const;
const FILTER_KINDS = ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And'] as const;

const invalidArgument = (message: string) => new S3Error('InvalidArgument', message);

const positiveInteger = (text: string | undefined): boolean => text !== undefined && /^[1-9][0-9]{0,8}$/.test(text);

/** Throws S3's error for the first thing S3 would refuse in the configuration. */
export function validateLifecycleConfiguration(xml: string): void {
  const config = parseXml(xml, 'LifecycleConfiguration');
  const rules = many(config.Rule);
  // The schema wants at least one rule; S3 keeps at most 1,000 per bucket.
  if (rules.length === 0 || rules.length > MAX_RULES) throw malformedXml();
  const ids = new Set<string>();
  for (const rule of rules) {
    if (!isElement(rule)) throw malformedXml();
    const id = textOf(rule.ID);
    if (id !== undefined) {
      if (id.length > MAX_ID_LENGTH) throw invalidArgument('ID length should not exceed allowed limit of 255');
      if (ids.has(id)) throw invalidArgument('Rule ID must be unique. Found same ID for more than one rule');
      ids.add(id);
    }
    validateRule(rule);
  }
}

function validateRule(rule: Record<string, XmlNode>): void {
  const status = textOf(rule.Status);
  if (status !== 'Enabled' && status !== 'Disabled') throw malformedXml();
  // Exactly one of the filter and the legacy rule-level prefix.
  if ((rule.Filter === undefined) === (rule.Prefix === undefined)) throw malformedXml();
  if (rule.Prefix !== undefined) textOf(rule.Prefix);
  const tagged = rule.Filter !== undefined && filterHasTag(rule.Filter);
  if (!ACTIONS.some((action) => rule[action] !== undefined)) {
    throw invalidArgument('At least one action needs to be specified in a rule');
  }
  if (rule.AbortIncompleteMultipartUpload !== undefined) {
    const abort = rule.AbortIncompleteMultipartUpload;
    if (!isElement(abort)) throw malformedXml();
    if (!positiveInteger(textOf(abort.DaysAfterInitiation))) {
      throw invalidArgument(
        "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
      );
    }
    // The rule applies to uploads, which have no tags yet.
    if (tagged) throw new S3Error('InvalidRequest', 'AbortIncompleteMultipartUpload cannot be specified with Tags.');
  }
  if (rule.Expiration !== undefined) validateExpiration(rule.Expiration, tagged);
}

/** An empty `<Filter/>` applies to the whole bucket; otherwise exactly one criterion. */
function filterHasTag(filter: XmlNode): boolean {
  if (filter === '') return false;
  if (!isElement(filter)) throw malformedXml();
  const kinds = FILTER_KINDS.filter((kind) => filter[kind] !== undefined);
  if (kinds.length !== 1 || Object.keys(filter).length !== 1) throw malformedXml();
  if (filter.Tag !== undefined) return true;
  if (filter.And === undefined) return false;
  if (!isElement(filter.And)) throw malformedXml();
  return filter.And.Tag !== undefined;
}

function validateExpiration(expiration: XmlNode, tagged: boolean): void {
  if (!isElement(expiration)) throw malformedXml();
  const given = ['Days', 'Date', 'ExpiredObjectDeleteMarker'].filter((name) => expiration[name] !== undefined);
  if (given.length !== 1) throw malformedXml();
  if (expiration.Days !== undefined && !positiveInteger(textOf(expiration.Days))) {
    throw invalidArgument("'Days' for Expiration action must be a positive integer");
  }
  if (expiration.Date !== undefined && Number.isNaN(Date.parse(textOf(expiration.Date) ?? ''))) throw malformedXml();
  if (expiration.ExpiredObjectDeleteMarker !== undefined && tagged) {
    throw new S3Error('InvalidRequest', 'ExpiredObjectDeleteMarker cannot be specified with Tags.');
  }
}
