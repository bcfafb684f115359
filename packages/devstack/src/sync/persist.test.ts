/** The emulator keeps maps, items (with expiry), permissions and revisions in its data file. */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSyncCredentials, startSyncEmulator, type SyncCredentials, type SyncEmulator } from './index.js';

let dir: string;
let creds: SyncCredentials;
const running: SyncEmulator[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sync-persist-'));
  creds = createSyncCredentials();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(dataFile?: string): Promise<SyncEmulator> {
  const emu = await startSyncEmulator({ ...creds, aclEnabled: true, dataFile });
  running.push(emu);
  return emu;
}

async function rest(emu: SyncEmulator, method: string, path: string, form?: Record<string, string>) {
  const res = await fetch(`${emu.restUrl}/v1/Services/${creds.serviceSid}/${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${creds.accountSid}:${creds.authToken}`).toString('base64')}`,
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as Record<string, unknown> | null };
}

async function populate(emu: SyncEmulator): Promise<void> {
  expect((await rest(emu, 'POST', 'Maps', { UniqueName: 'g_persist' })).status).toBe(201);
  const perm = { Read: 'true', Write: 'false', Manage: 'false' };
  expect((await rest(emu, 'POST', 'Maps/g_persist/Permissions/bob', perm)).status).toBe(200);
  expect((await rest(emu, 'POST', 'Maps/g_persist/Permissions/carol', perm)).status).toBe(200);
  expect((await rest(emu, 'DELETE', 'Maps/g_persist/Permissions/carol')).status).toBe(204);
  const item = (key: string, n: number, ttl: number) => ({
    Key: key,
    Data: JSON.stringify({ n }),
    ItemTtl: String(ttl),
  });
  expect((await rest(emu, 'POST', 'Maps/g_persist/Items', item('kept', 1, 600))).status).toBe(201);
  expect((await rest(emu, 'POST', 'Maps/g_persist/Items/kept', { Data: JSON.stringify({ n: 2 }) })).status).toBe(200);
  expect((await rest(emu, 'POST', 'Maps/g_persist/Items', item('short', 3, 1))).status).toBe(201);
}

describe('Sync emulator persistence', () => {
  it('restarting on the same data file keeps maps, items, revisions, permissions and expiry', async () => {
    const file = join(dir, 'sync.json');
    await populate(await start(file));
    await running.pop()!.close();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await readFile(file, 'utf8')).not.toContain(creds.authToken);

    const again = await start(file);
    const kept = await rest(again, 'GET', 'Maps/g_persist/Items/kept');
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ data: { n: 2 }, revision: '1' });
    expect(typeof kept.body?.date_expires).toBe('string');
    expect((await rest(again, 'GET', 'Maps/g_persist/Permissions/bob')).body).toMatchObject({
      read: true,
      write: false,
    });
    expect((await rest(again, 'GET', 'Maps/g_persist/Permissions/carol')).status).toBe(404);
    // The short item's expiry came back with it: it goes when it is due, not before, not never.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await rest(again, 'GET', 'Maps/g_persist/Items/short')).status).toBe(404);
    expect((await rest(again, 'GET', 'Maps/g_persist/Items/kept')).status).toBe(200);
    // Writes after the restart continue the revision sequence and are kept too.
    expect((await rest(again, 'POST', 'Maps/g_persist/Items/kept', { Data: '{"n":3}' })).body).toMatchObject({
      revision: '2',
    });
    await running.pop()!.close();
    expect((await rest(await start(file), 'GET', 'Maps/g_persist/Items/kept')).body).toMatchObject({ data: { n: 3 } });
  });

  it('a REST write is on disk when it is answered (no clean shutdown needed)', async () => {
    const file = join(dir, 'sync.json');
    const emu = await start(file);
    await populate(emu);
    // Read the file while the emulator still runs, as a crash would leave it.
    const saved = JSON.parse(await readFile(file, 'utf8')) as { objects: { uniqueName: string; items: unknown[] }[] };
    expect(saved.objects.map((o) => [o.uniqueName, o.items.length])).toEqual([['g_persist', 2]]);
  });

  it('without a data file the state is gone after a restart (in-memory mode)', async () => {
    await populate(await start());
    await running.pop()!.close();
    expect((await rest(await start(), 'GET', 'Maps/g_persist')).status).toBe(404);
  });

  it('refuses a corrupt state file instead of starting empty', async () => {
    const file = join(dir, 'sync.json');
    await writeFile(file, '{"version":1,"objects":[{"type":"map"}]}');
    await expect(start(file)).rejects.toThrow();
  });
});
