import { randomUUID } from 'node:crypto';
import { type AuditEntry, AuditRecord, type AuditValue, canonicalJson } from '@conduit/shared';

/**
 * An audit entry that is committed but not yet in the chain: `<id> <canonical JSON body>` on the
 * pending list. Ledger scripts push one in the same atomic step as their transition; the sealer
 * (seal.ts) moves pending items into the chain in order. The random id makes every item distinct,
 * so an item can be found (LPOS) and compared exactly, and a resent enqueue can be recognised.
 */
export const newEntryId = (): string => randomUUID();

export const pendingItem = (id: string, body: string): string => `${id} ${body}`;

const Entry = AuditRecord.shape.entry;

/**
 * The entry of a pending item, or null when the item is not one this server wrote (no id, not
 * canonical JSON, or not an entry the verifier accepts): sealing that as-is would break the chain.
 */
export function parsePendingItem(item: string): AuditEntry | null {
  const space = item.indexOf(' ');
  if (space < 1) return null;
  const body = item.slice(space + 1);
  try {
    const value = JSON.parse(body) as AuditValue;
    if (!Entry.safeParse(value).success || canonicalJson(value) !== body) return null;
    return value as AuditEntry;
  } catch {
    return null;
  }
}
