import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConduitError } from '../errors.js';
import {
  FEED_NOTIFICATION_ITEM_KEY,
  FEED_NOTIFICATION_VERSION,
  feedNotificationOf,
  parseFeedNotification,
} from './feed-notification.js';

/** Known answer inline (docs/format.md §14): the item's exact JSON and its SHA-256. */
const GROUP = 'ffeeddccbbaa99887766554433221100';
const JSON_TEXT = '{"v":1,"kind":"feed","groupId":"ffeeddccbbaa99887766554433221100","seq":42}';
const SHA256 = '350d9cc3c693e6fe73353e1969dffed9fdb45b9d23c8c4a4babe1e88aec28eba';
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConduitError ? err.code : 'untyped';
  }
  return undefined;
};

describe('feed notification v1', () => {
  it('serializes to the pinned bytes and parses them back', () => {
    expect(FEED_NOTIFICATION_VERSION).toBe(1);
    expect(FEED_NOTIFICATION_ITEM_KEY).toBe('feed');
    const json = JSON.stringify(feedNotificationOf(GROUP, 42));
    expect(json).toBe(JSON_TEXT);
    expect(sha256(json)).toBe(SHA256);
    expect(parseFeedNotification(JSON.parse(JSON_TEXT))).toEqual({ v: 1, kind: 'feed', groupId: GROUP, seq: 42 });
  });

  it.each([
    ['another version', { v: 2, kind: 'feed', groupId: GROUP, seq: 1 }, 'FORMAT_UNSUPPORTED'],
    ['no object', 'feed', 'FORMAT_UNSUPPORTED'],
    ['another kind', { v: 1, kind: 'record', groupId: GROUP, seq: 1 }, 'VALIDATION_FAILED'],
    ['a negative seq', { v: 1, kind: 'feed', groupId: GROUP, seq: -1 }, 'VALIDATION_FAILED'],
    ['a fractional seq', { v: 1, kind: 'feed', groupId: GROUP, seq: 1.5 }, 'VALIDATION_FAILED'],
    ['a bad group id', { v: 1, kind: 'feed', groupId: 'g', seq: 1 }, 'VALIDATION_FAILED'],
    ['an unknown field', { v: 1, kind: 'feed', groupId: GROUP, seq: 1, value: 'x' }, 'VALIDATION_FAILED'],
  ])('refuses %s with %s', (_name, input, code) => {
    expect(codeOf(() => parseFeedNotification(input))).toBe(code);
  });
});
