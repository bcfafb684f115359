import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PARTIAL_MAX_AGE_MS, removeAbandonedPartials, removeOrphanCheckpoints } from './partial-cleanup.js';
import { createPartial, PARTIAL_FOLDER_PREFIX } from './partial-folder.js';

const DAY = 24 * 60 * 60 * 1000;
let out: string;

beforeEach(async () => {
  out = await mkdtemp(join(tmpdir(), 'conduit-cleanup-'));
});
afterEach(async () => {
  await rm(out, { recursive: true, force: true });
});

/** A partial download last written `ageMs` ago. */
async function partialAged(ageMs: number): Promise<string> {
  const partial = await createPartial(out);
  await partial.fh.write(Buffer.from('decrypted plaintext'));
  await partial.fh.close();
  const when = new Date(Date.now() - ageMs);
  await utimes(partial.path, when, when);
  await utimes(partial.folder, when, when);
  return partial.folder;
}

describe('removeAbandonedPartials', () => {
  it('removes folders untouched for longer than the age and keeps younger ones', async () => {
    const old = await partialAged(PARTIAL_MAX_AGE_MS + DAY);
    const young = await partialAged(PARTIAL_MAX_AGE_MS - DAY);
    expect(await removeAbandonedPartials(out)).toEqual([old]);
    expect(await readdir(out)).toEqual([basename(young)]);
  });

  it('counts the latest write inside the folder: a resumed download renews its age', async () => {
    const folder = await partialAged(PARTIAL_MAX_AGE_MS + DAY);
    const now = new Date();
    await utimes(join(folder, 'content'), now, now);
    expect(await removeAbandonedPartials(out)).toEqual([]);
  });

  it('leaves links, files and unrelated folders alone', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'conduit-cleanup-target-'));
    try {
      const old = new Date(Date.now() - 2 * PARTIAL_MAX_AGE_MS);
      await utimes(elsewhere, old, old);
      await symlink(elsewhere, join(out, `${PARTIAL_FOLDER_PREFIX}link`));
      await writeFile(join(out, `${PARTIAL_FOLDER_PREFIX}file`), 'x');
      await mkdir(join(out, 'photos'));
      await utimes(join(out, 'photos'), old, old);
      expect(await removeAbandonedPartials(out, { maxAgeMs: 0 })).toEqual([]);
      expect((await readdir(out)).sort()).toEqual([
        `${PARTIAL_FOLDER_PREFIX}file`,
        `${PARTIAL_FOLDER_PREFIX}link`,
        'photos',
      ]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('removeOrphanCheckpoints', () => {
  it('drops checkpoints whose folder is gone and keeps the others', async () => {
    const live = await partialAged(0);
    const downloads = join(out, 'downloads');
    await mkdir(downloads);
    await writeFile(join(downloads, 'a.json'), JSON.stringify({ v: 2, folder: live }));
    await writeFile(
      join(downloads, 'b.json'),
      JSON.stringify({ v: 2, folder: join(out, `${PARTIAL_FOLDER_PREFIX}gone`) }),
    );
    expect(await removeOrphanCheckpoints(downloads)).toBe(1);
    expect(await readdir(downloads)).toEqual(['a.json']);
  });
});
