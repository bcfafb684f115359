import { createCipheriv, createDecipheriv } from 'node:crypto';
import Database from 'better-sqlite3';
import { ConduitError } from '@conduit/shared';
import type { GroupId, RecordId, VersionId } from '@conduit/shared';
import type { JsonValue, RecordEntry, Replica } from '../../records/replica.js';
import { randomBytes } from '../../util/random.js';

interface Row {
  group_id: string;
  version_id: string;
  record_id: string;
  seq: number;
  parent_version_id: string | null;
  pointer_id: string;
  deleted: number;
  sender_identity: string;
  sender_device: string;
  created_at: string;
  sealed: Buffer;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS versions (
  group_id TEXT NOT NULL, version_id TEXT NOT NULL, record_id TEXT NOT NULL, seq INTEGER NOT NULL,
  parent_version_id TEXT, pointer_id TEXT NOT NULL, deleted INTEGER NOT NULL, sender_identity TEXT NOT NULL,
  sender_device TEXT NOT NULL, created_at TEXT NOT NULL, sealed BLOB NOT NULL,
  PRIMARY KEY (group_id, version_id), UNIQUE (group_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_by_record ON versions (group_id, record_id, seq);
CREATE TABLE IF NOT EXISTS heads (
  group_id TEXT NOT NULL, record_id TEXT NOT NULL, seq INTEGER NOT NULL, version_id TEXT NOT NULL,
  PRIMARY KEY (group_id, record_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors (group_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
`;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The Node replica (records/replica.ts): SQLite in WAL mode, through better-sqlite3.
 *
 * Convergence (docs/records.md): a version is keyed by its id, so applying it again is a no-op;
 * the head is the version with the highest seq whatever the order versions arrived in (the
 * upsert only ever moves a head forward); the cursor is the highest seq below which nothing is
 * missing, so a gap left by a lost or late live pointer is filled by the next catch-up.
 *
 * Values and key names are encrypted at rest (AES-256-GCM under `dataKey`, bound to the group and
 * version): a copied database file holds ids and seqs only.
 */
export class SqliteReplica implements Replica {
  private readonly db: Database.Database;
  private readonly stmts;

  private constructor(
    path: string,
    private readonly dataKey: Buffer,
  ) {
    if (dataKey.length !== 32) throw new ConduitError('CONFIG', 'The replica key must be 32 bytes.');
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL: a commit survives a crash of the process; a power loss may drop the last
    // commits, which catch-up fetches again from the feed.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.stmts = {
      seqOf: this.db.prepare<[string, string], { seq: number }>(
        'SELECT seq FROM versions WHERE group_id = ? AND version_id = ?',
      ),
      insert: this.db.prepare(
        `INSERT INTO versions (group_id, version_id, record_id, seq, parent_version_id, pointer_id, deleted,
           sender_identity, sender_device, created_at, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      upsertHead: this.db.prepare(
        `INSERT INTO heads (group_id, record_id, seq, version_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (group_id, record_id) DO UPDATE SET seq = excluded.seq, version_id = excluded.version_id
         WHERE excluded.seq > heads.seq`,
      ),
      head: this.db.prepare<[string, string], Row>(
        `SELECT v.* FROM heads h JOIN versions v ON v.group_id = h.group_id AND v.version_id = h.version_id
         WHERE h.group_id = ? AND h.record_id = ?`,
      ),
      heads: this.db.prepare<[string], Row>(
        `SELECT v.* FROM heads h JOIN versions v ON v.group_id = h.group_id AND v.version_id = h.version_id
         WHERE h.group_id = ? ORDER BY h.seq`,
      ),
      history: this.db.prepare<[string, string], Row>(
        'SELECT * FROM versions WHERE group_id = ? AND record_id = ? ORDER BY seq',
      ),
      cursor: this.db.prepare<[string], { seq: number }>('SELECT seq FROM cursors WHERE group_id = ?'),
      setCursor: this.db.prepare(
        `INSERT INTO cursors (group_id, seq) VALUES (?, ?)
         ON CONFLICT (group_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > cursors.seq`,
      ),
      hasSeq: this.db.prepare<[string, number], { one: number }>(
        'SELECT 1 AS one FROM versions WHERE group_id = ? AND seq = ?',
      ),
    };
  }

  /** Opens (creating) the replica at `path`; `dataKey` encrypts values at rest. */
  static open(path: string, dataKey: Buffer): SqliteReplica {
    return new SqliteReplica(path, dataKey);
  }

  close(): void {
    this.db.close();
    this.dataKey.fill(0);
  }

  has(groupId: GroupId, versionId: VersionId): boolean {
    return this.stmts.seqOf.get(groupId, versionId) !== undefined;
  }

  /**
   * Applies verified versions in one transaction. `coveredThrough` is a feed page's last seq: the
   * feed vouches that no other version lies at or below it, so the cursor may jump there.
   * Returns the versions that are new and became their record's head.
   */
  apply(groupId: GroupId, entries: RecordEntry[], coveredThrough = 0): RecordEntry[] {
    return this.db.transaction(() => {
      const changed: RecordEntry[] = [];
      for (const entry of entries) {
        if (this.insert(groupId, entry)) {
          const moved = this.stmts.upsertHead.run(groupId, entry.recordId, entry.seq, entry.versionId);
          if (moved.changes > 0) changed.push(entry);
        }
      }
      this.advanceCursor(groupId, coveredThrough);
      return changed;
    })();
  }

  head(groupId: GroupId, recordId: RecordId): RecordEntry | undefined {
    const row = this.stmts.head.get(groupId, recordId);
    return row && this.toEntry(row);
  }

  /** Every record's head (tombstones included), in feed order. */
  heads(groupId: GroupId): RecordEntry[] {
    return this.stmts.heads.all(groupId).map((row) => this.toEntry(row));
  }

  history(groupId: GroupId, recordId: RecordId): RecordEntry[] {
    return this.stmts.history.all(groupId, recordId).map((row) => this.toEntry(row));
  }

  /** The highest seq below which this replica holds every version of the group's feed. */
  cursor(groupId: GroupId): number {
    return this.stmts.cursor.get(groupId)?.seq ?? 0;
  }

  /** True when the version was new; a known version must sit at the same seq. */
  private insert(groupId: GroupId, e: RecordEntry): boolean {
    const known = this.stmts.seqOf.get(groupId, e.versionId);
    if (known) {
      if (known.seq !== e.seq) throw new ConduitError('INTEGRITY', 'A version was announced at two feed positions.');
      return false;
    }
    if (this.stmts.hasSeq.get(groupId, e.seq)) {
      throw new ConduitError('INTEGRITY', 'Two versions were announced at one feed position.');
    }
    const aad = Buffer.from(`${groupId}/${e.versionId}`);
    const sealed = this.seal(Buffer.from(JSON.stringify({ key: e.key, value: e.value })), aad);
    this.stmts.insert.run(
      groupId,
      e.versionId,
      e.recordId,
      e.seq,
      e.parentVersionId,
      e.pointerId,
      e.deleted ? 1 : 0,
      e.sender.identity,
      e.sender.deviceId,
      e.createdAt,
      sealed,
    );
    return true;
  }

  private advanceCursor(groupId: GroupId, coveredThrough: number): void {
    let seq = Math.max(this.cursor(groupId), coveredThrough);
    while (this.stmts.hasSeq.get(groupId, seq + 1)) seq++;
    this.stmts.setCursor.run(groupId, seq);
  }

  private toEntry(row: Row): RecordEntry {
    const plain = this.open(row.sealed, Buffer.from(`${row.group_id}/${row.version_id}`));
    const { key, value } = JSON.parse(plain.toString('utf8')) as { key: string; value?: JsonValue };
    const entry: RecordEntry = {
      key,
      recordId: row.record_id,
      versionId: row.version_id,
      parentVersionId: row.parent_version_id,
      pointerId: row.pointer_id,
      seq: row.seq,
      deleted: row.deleted === 1,
      sender: { identity: row.sender_identity, deviceId: row.sender_device },
      createdAt: row.created_at,
    };
    if (!entry.deleted) entry.value = value ?? null;
    return entry;
  }

  private seal(plain: Buffer, aad: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.dataKey, iv).setAAD(aad);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  private open(sealed: Buffer, aad: Buffer): Buffer {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.dataKey, sealed.subarray(0, IV_BYTES)).setAAD(aad);
      decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch {
      throw new ConduitError('INTEGRITY', 'The local replica is corrupt or was written under another key.');
    }
  }
}
