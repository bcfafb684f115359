import type { Endpoint, GroupId, PointerId, RecordId, VersionId } from '@conduit/shared';

/** Any JSON value an app stores in a record. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One verified version, as the replica holds it and the SDK returns it. */
export interface RecordEntry {
  key: string;
  recordId: RecordId;
  versionId: VersionId;
  parentVersionId: VersionId | null;
  /** The pointer that announced the version (its acknowledgement ledger entry: status()). */
  pointerId: PointerId;
  /** Position in the group's feed: the head of a record is its version with the highest seq. */
  seq: number;
  deleted: boolean;
  /** Absent for a tombstone. */
  value?: JsonValue;
  sender: Endpoint;
  createdAt: string;
}

/**
 * The durable local replica of one endpoint (identity + device): every verified version of the
 * records of its groups, each record's head, and per group the sync cursor. Convergence
 * (docs/records.md): applying a version again is a no-op; the head is the version with the highest
 * seq whatever the order versions arrived in; the cursor is the highest seq below which nothing is
 * missing. Node's is SQLite (platform/node/sqlite-replica.ts), opened by Platform.openReplica.
 */
export interface Replica {
  close(): void;
  has(groupId: GroupId, versionId: VersionId): boolean;
  /** Stores the verified `entries` (and moves the cursor to `coveredThrough`); returns those that were new. */
  apply(groupId: GroupId, entries: RecordEntry[], coveredThrough?: number): RecordEntry[];
  head(groupId: GroupId, recordId: RecordId): RecordEntry | undefined;
  heads(groupId: GroupId): RecordEntry[];
  history(groupId: GroupId, recordId: RecordId): RecordEntry[];
  cursor(groupId: GroupId): number;
}
