import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sanitizeFileName, withSuffix } from './file-name.js';
import { linkNewFile } from '../platform/node/write-new-file.js';

describe('sanitizeFileName', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', '_._etc_passwd'],
    ['..', 'received-file'],
    ['a/b\\c', 'a_b_c'],
    ['C:\\Windows\\evil.exe', 'C__Windows_evil.exe'],
    ['.bashrc', 'bashrc'],
    ['name...', 'name'],
    ['a..b', 'a.b'],
    ['bell\u0007\nline', 'bellline'],
    ['invoice\u202egpj.exe', 'invoicegpj.exe'],
    ['NUL.txt', '_NUL.txt'],
    ['  ', 'received-file'],
    ['\u0000', 'received-file'],
  ])('%j -> %j', (input, expected) => {
    expect(sanitizeFileName(input)).toBe(expected);
  });

  it('bounds the length in bytes and keeps the extension', () => {
    const out = sanitizeFileName(`${'é'.repeat(250)}.pdf`);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(200);
    expect(out.endsWith('.pdf')).toBe(true);
  });

  it('numbers alternatives before the extension', () => {
    expect(withSuffix('a.txt', 0)).toBe('a.txt');
    expect(withSuffix('a.txt', 2)).toBe('a (2).txt');
    expect(withSuffix('README', 1)).toBe('README (1)');
  });
});

describe('linkNewFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-write-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const place = async (text: string) => {
    const tmp = join(dir, `x.txt.${text}.conduit-partial`);
    await writeFile(tmp, text, { mode: 0o600 });
    return linkNewFile(dir, 'x.txt', tmp);
  };

  it('never overwrites, leaves no temp files, and keeps the mode', async () => {
    const first = await place('one');
    const second = await place('two');
    expect(first).toBe(join(dir, 'x.txt'));
    expect(second).toBe(join(dir, 'x (1).txt'));
    expect(await readFile(first, 'utf8')).toBe('one');
    expect(await readFile(second, 'utf8')).toBe('two');
    expect((await stat(second)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['x (1).txt', 'x.txt']);
  });
});
