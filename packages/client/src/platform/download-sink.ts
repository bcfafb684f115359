/**
 * Where a download's plaintext goes until every segment verified, and how it gets its final name.
 * The Node sink (node/partial-folder.ts) keeps it in a private folder of its own and publishes it
 * by a hard link that never replaces an existing name: see there for the security properties a
 * sink must keep.
 */
export interface PartialWriter {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  truncate(length: number): Promise<void>;
  /** Makes the written data durable (checkpoints are saved only after it). */
  datasync(): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface PartialFile {
  /** Identifies the partial across attempts (a checkpoint stores it). */
  folder: string;
  path: string;
  fh: PartialWriter;
  /** False when the file was created empty (nothing verified in it yet). */
  resumed: boolean;
}

export interface DownloadSink {
  /** Creates the output folder if needed. */
  prepare(outDir: string): Promise<void>;
  /** A fresh, empty partial file for a download into `outDir`. */
  create(outDir: string): Promise<PartialFile>;
  /** The partial of an interrupted download, if still there and safe to write; else undefined. */
  reopen(folder: string): Promise<PartialFile | undefined>;
  /** Whether the partial `folder` belongs to downloads into `outDir`. */
  belongsTo(folder: string, outDir: string): boolean;
  /** Gives the verified, synced and closed partial its final name (`name`, or `name (n)`); returns the path. */
  publish(partial: PartialFile, outDir: string, name: string): Promise<string>;
  /** The name part of a path `publish` returned. */
  nameOf(path: string): string;
  /** Removes a partial and everything in it. */
  discard(folder: string): Promise<void>;
}
