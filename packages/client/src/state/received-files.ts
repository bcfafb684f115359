import { z } from 'zod';
import type { StateFiles } from '../platform/state-files.js';
import type { ReceivedFile } from '../receive-pointer.js';

/**
 * The files this device received, for `conduit received`: `<home>/<identity>/received-files.jsonl`
 * (0600 in the owner-only identity folder). Unlike received.jsonl it holds names and paths, which
 * are as sensitive as the contents: it never leaves the device; deleting it only empties the list.
 */
export const RECEIVED_FILES = 'received-files.jsonl';

const Entry = z.object({
  pointerId: z.string(),
  groupId: z.string(),
  name: z.string(),
  type: z.string(),
  size: z.number().int().nonnegative(),
  path: z.string(),
  sender: z.object({ identity: z.string(), deviceId: z.string() }),
  receivedAt: z.string(),
});
export type ReceivedFileEntry = z.infer<typeof Entry>;

export class ReceivedFiles {
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly identityDir: string,
    private readonly files: StateFiles,
  ) {}

  private get path(): string {
    return this.files.join(this.identityDir, RECEIVED_FILES);
  }

  /** Appends in order without blocking the caller; `flush` waits for the writes (errors included). */
  add(file: ReceivedFile, at = new Date()): void {
    const entry: ReceivedFileEntry = {
      pointerId: file.pointerId,
      groupId: file.groupId,
      name: file.name,
      type: file.type,
      size: file.size,
      path: file.path,
      sender: { identity: file.sender.identity, deviceId: file.sender.deviceId },
      receivedAt: at.toISOString(),
    };
    const line = `${JSON.stringify(entry)}\n`;
    this.pending = this.pending.then(() =>
      this.files.append(this.path, line).catch((err: unknown) => {
        this.failure ??= err;
      }),
    );
  }

  async flush(): Promise<void> {
    await this.pending;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Oldest first; torn or foreign lines are skipped. */
  async list(): Promise<ReceivedFileEntry[]> {
    const text = (await this.files.read(this.path)) ?? '';
    return text.split('\n').flatMap((line) => {
      if (!line) return [];
      try {
        const parsed = Entry.safeParse(JSON.parse(line));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }
}
