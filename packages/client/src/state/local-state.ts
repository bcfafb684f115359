import { ConduitError, DeviceId, Identity } from '@conduit/shared';
import type { StateFiles } from '../platform/state-files.js';
import { randomBytes } from '../util/random.js';

/**
 * What one identity keeps on this machine, under `<home>/<identity>/`:
 * device.json (this endpoint's id, created once), session.json (access token, 0600; the refresh
 * token lives in the encrypted key store), session.lock (held while a process renews it),
 * e3kit/ (private key and group tickets), received.jsonl (see ReceivedLog), uploads/ (resumable
 * sends, see UploadStateStore), downloads/ (checkpoints of interrupted downloads) and pins.json
 * (peers' pinned keys, see PinStore).
 */
export interface StoredSession {
  token: string;
  expiresAt: string;
  /** When this client received it: renewal starts a fifth of its life before expiry. */
  issuedAt?: string;
}

export class LocalState {
  private constructor(
    readonly files: StateFiles,
    readonly dir: string,
    readonly identity: Identity,
    readonly deviceId: DeviceId,
  ) {}

  /** Opens (creating on first use) the state directory of `identity`, owner-only. */
  static async open(home: string, identity: string, files: StateFiles): Promise<LocalState> {
    const parsed = Identity.safeParse(identity);
    if (!parsed.success) {
      throw new ConduitError('VALIDATION_FAILED', 'Invalid identity: use letters, digits and . _ @ + - only.');
    }
    // The identity regex forbids '/', and a leading '.', so it is safe as one path segment.
    const dir = files.join(home, parsed.data);
    await files.makeDir(dir);
    const deviceId = await loadOrCreateDeviceId(files, files.join(dir, 'device.json'));
    return new LocalState(files, dir, parsed.data, deviceId);
  }

  get e3kitDir(): string {
    return this.files.join(this.dir, 'e3kit');
  }

  get uploadsDir(): string {
    return this.files.join(this.dir, 'uploads');
  }

  get downloadsDir(): string {
    return this.files.join(this.dir, 'downloads');
  }

  get pinsPath(): string {
    return this.files.join(this.dir, 'pins.json');
  }

  get sessionLockPath(): string {
    return this.files.join(this.dir, 'session.lock');
  }

  get receivedLogPath(): string {
    return this.files.join(this.dir, 'received.jsonl');
  }

  async loadSession(): Promise<StoredSession | undefined> {
    const raw = await readJsonFile(this.files, this.files.join(this.dir, 'session.json'));
    const s = raw as Partial<StoredSession> | undefined;
    if (typeof s?.token !== 'string' || typeof s.expiresAt !== 'string') return undefined;
    const issuedAt = typeof s.issuedAt === 'string' ? { issuedAt: s.issuedAt } : {};
    return { token: s.token, expiresAt: s.expiresAt, ...issuedAt };
  }

  async saveSession(session: StoredSession): Promise<void> {
    await this.files.replace(this.files.join(this.dir, 'session.json'), JSON.stringify(session));
  }

  async clearSession(): Promise<void> {
    await this.files.remove(this.files.join(this.dir, 'session.json'));
  }
}

async function loadOrCreateDeviceId(files: StateFiles, path: string): Promise<DeviceId> {
  const raw = (await readJsonFile(files, path)) as { deviceId?: unknown } | undefined;
  if (raw !== undefined) {
    const parsed = DeviceId.safeParse(raw.deviceId);
    if (!parsed.success) throw new ConduitError('CONFIG', `Corrupt device file: ${path}`);
    return parsed.data;
  }
  const deviceId = randomBytes(16).toString('base64url');
  // Created exclusively: if two processes race on first use, exactly one id wins and both read it back.
  const created = await files.createNew(path, JSON.stringify({ deviceId, createdAt: new Date().toISOString() }));
  return created ? deviceId : loadOrCreateDeviceId(files, path);
}

async function readJsonFile(files: StateFiles, path: string): Promise<unknown> {
  const text = await files.read(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConduitError('CONFIG', `Corrupt state file: ${path}`);
  }
}
