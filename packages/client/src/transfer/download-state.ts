import { PointerId } from '@conduit/shared';
import type { StateFiles } from '../platform/state-files.js';

/**
 * Which ranges of an interrupted download are verified and durably written
 * (`<identity state dir>/downloads/<pointerId>.json`, owner-only), so the next attempt fetches
 * only the rest. Bound to the object by its header digest; ids only, no file names.
 */
export interface DownloadCheckpoint {
  /** 2: a private folder per download (checkpoints of version 1 named a bare partial file). */
  v: 2;
  objectId: string;
  headerSha256: string;
  /** The download's private `.conduit-partial-*` folder, which holds the verified plaintext so far. */
  folder: string;
  segmentsPerRange: number;
  /** base64 bitmap: bit i set = range i verified and synced. */
  done: string;
}

export class DownloadStateStore {
  constructor(
    private readonly dir: string,
    private readonly files: StateFiles,
  ) {}

  private pathOf(pointerId: string): string {
    return this.files.join(this.dir, `${pointerId}.json`);
  }

  async load(pointerId: string): Promise<DownloadCheckpoint | undefined> {
    let raw: unknown;
    try {
      raw = JSON.parse((await this.files.read(this.pathOf(pointerId))) ?? 'null');
    } catch {
      return undefined; // absent or unreadable: download from scratch
    }
    const v = raw as Partial<DownloadCheckpoint> | null;
    if (
      v?.v !== 2 ||
      typeof v.objectId !== 'string' ||
      typeof v.headerSha256 !== 'string' ||
      typeof v.folder !== 'string' ||
      typeof v.done !== 'string' ||
      !Number.isSafeInteger(v.segmentsPerRange)
    ) {
      return undefined;
    }
    return v as DownloadCheckpoint;
  }

  async save(pointerId: string, checkpoint: DownloadCheckpoint): Promise<void> {
    await this.files.makeDir(this.dir);
    await this.files.replace(this.pathOf(pointerId), JSON.stringify(checkpoint));
  }

  async remove(pointerId: string): Promise<void> {
    await this.files.remove(this.pathOf(pointerId));
  }

  /** The pointers with a checkpoint: interrupted downloads. */
  async pointers(): Promise<PointerId[]> {
    const names = await this.files.list(this.dir);
    return names.flatMap((n) => {
      const id = n.endsWith('.json') ? PointerId.safeParse(n.slice(0, -5)) : undefined;
      return id?.success ? [id.data] : [];
    });
  }
}

export function encodeBits(bits: boolean[]): string {
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((set, i) => {
    if (set) bytes[i >> 3] = (bytes[i >> 3] as number) | (1 << (i & 7));
  });
  return bytes.toString('base64');
}

export function decodeBits(encoded: string, count: number): boolean[] {
  const bytes = Buffer.from(encoded, 'base64');
  return Array.from({ length: count }, (_, i) => (((bytes[i >> 3] ?? 0) >> (i & 7)) & 1) === 1);
}
