/**
 * The identity's small local state files (device id, session, upload and download checkpoints,
 * received logs, pins), all owner-only. Paths are opaque to the core: it builds them with `join`.
 */
export interface Appender {
  append(text: string): Promise<void>;
  close(): Promise<void>;
}

export interface StateFiles {
  join(...parts: string[]): string;
  /** Creates the folder (and its parents) owner-only (0700) if it is absent. */
  makeDir(path: string): Promise<void>;
  /** The file's text; undefined when it does not exist (other failures throw). */
  read(path: string): Promise<string | undefined>;
  /** Creates the file (0600) with `text` unless it exists: false then, and nothing is written. */
  createNew(path: string, text: string): Promise<boolean>;
  /** Replaces the file with `text` atomically: a new 0600 file renamed over the old one. */
  replace(path: string, text: string): Promise<void>;
  /** As `replace`, and durably (the new file is synced first; the parent is created 0700 if absent). */
  replaceDurably(path: string, text: string): Promise<void>;
  /** Appends `text` in one write, creating the file 0600 if absent. */
  append(path: string, text: string): Promise<void>;
  /**
   * Opens the file for many appends (created 0600 if absent), each one write, as `append`: a log
   * written once per segment of a transfer should not pay an open and a close per line.
   */
  openAppender(path: string): Promise<Appender>;
  rename(from: string, to: string): Promise<void>;
  /** Deletes the file if present. */
  remove(path: string): Promise<void>;
  /** The names of the files in a folder (none when it does not exist). */
  list(dir: string): Promise<string[]>;
}
