import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConduitError, DeviceId, Identity } from '@conduit/shared';

/**
 * What one identity keeps on this machine, under `<home>/<identity>/`:
 * device.json (this endpoint's id, created once), session.json (bearer token, 0600),
 * e3kit/ (private key and group tickets), received.jsonl (see ReceivedLog), uploads/ (resumable
 * sends, see UploadStateStore), downloads/ (checkpoints of interrupted downloads) and pins.json
 * (peers' pinned keys, see PinStore).
 */
export interface StoredSession {
  token: string;
  expiresAt: string;
}

export class LocalState {
  private constructor(
    readonly dir: string,
    readonly identity: Identity,
    readonly deviceId: DeviceId,
  ) {}

  /** Opens (creating on first use) the state directory of `identity`, owner-only. */
  static async open(home: string, identity: string): Promise<LocalState> {
    const parsed = Identity.safeParse(identity);
    if (!parsed.success) {
      throw new ConduitError('VALIDATION_FAILED', 'Invalid identity: use letters, digits and . _ @ + - only.');
    }
    // The identity regex forbids '/', and a leading '.', so it is safe as one path segment.
    const dir = join(home, parsed.data);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const deviceId = await loadOrCreateDeviceId(join(dir, 'device.json'));
    return new LocalState(dir, parsed.data, deviceId);
  }

  get e3kitDir(): string {
    return join(this.dir, 'e3kit');
  }

  get uploadsDir(): string {
    return join(this.dir, 'uploads');
  }

  get downloadsDir(): string {
    return join(this.dir, 'downloads');
  }

  get pinsPath(): string {
    return join(this.dir, 'pins.json');
  }

  get receivedLogPath(): string {
    return join(this.dir, 'received.jsonl');
  }

  async loadSession(): Promise<StoredSession | undefined> {
    const raw = await readJsonFile(join(this.dir, 'session.json'));
    const s = raw as Partial<StoredSession> | undefined;
    if (typeof s?.token !== 'string' || typeof s.expiresAt !== 'string') return undefined;
    return { token: s.token, expiresAt: s.expiresAt };
  }

  async saveSession(session: StoredSession): Promise<void> {
    await writeFileAtomic(join(this.dir, 'session.json'), JSON.stringify(session), 0o600);
  }
}

async function loadOrCreateDeviceId(path: string): Promise<DeviceId> {
  const raw = (await readJsonFile(path)) as { deviceId?: unknown } | undefined;
  if (raw !== undefined) {
    const parsed = DeviceId.safeParse(raw.deviceId);
    if (!parsed.success) throw new ConduitError('CONFIG', `Corrupt device file: ${path}`);
    return parsed.data;
  }
  const deviceId = randomBytes(16).toString('base64url');
  try {
    // 'wx': if two processes race on first use, exactly one id wins and both read it back.
    await writeFile(path, JSON.stringify({ deviceId, createdAt: new Date().toISOString() }), {
      flag: 'wx',
      mode: 0o600,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return loadOrCreateDeviceId(path);
  }
  return deviceId;
}

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConduitError('CONFIG', `Corrupt state file: ${path}`);
  }
}

async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, data, { mode, flag: 'wx' });
  await rename(tmp, path);
}
