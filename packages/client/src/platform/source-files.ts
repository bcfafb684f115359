/**
 * Reading the file being sent: its size and modification time (a resumed upload must find the
 * file unchanged) and positioned reads of its segments. Node's FileHandle is a SourceFile as is.
 */
export interface SourceInfo {
  size: number;
  mtimeMs: number;
  isFile: boolean;
}

export interface SourceFile {
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; 0 bytes read at the end. */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

export interface SourceFiles {
  /** The absolute form of `path` (an upload's state is keyed by it). */
  resolve(path: string): string;
  /** The last segment of `path`: the name a file is sent under by default. */
  baseName(path: string): string;
  /** Fails when the file cannot be reached (the caller reports which). */
  stat(path: string): Promise<SourceInfo>;
  open(path: string): Promise<SourceFile>;
}
