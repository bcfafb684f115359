import { describe, expect, it } from 'vitest';
import { guessMediaType } from './media-type.js';

describe('guessMediaType', () => {
  it.each([
    ['scan.dcm', 'application/dicom'],
    ['report.PDF', 'application/pdf'],
    ['notes.md', 'text/markdown'],
    ['photo.heic', 'image/heic'],
    ['dir/sub/sheet.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    ['C:\\Users\\a\\letter.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
  ])('knows %s', (name, type) => expect(guessMediaType(name)).toBe(type));

  it.each(['README', '.bashrc', 'trailing.', 'archive.unknownext'])('calls %s opaque bytes', (name) =>
    expect(guessMediaType(name)).toBe('application/octet-stream'),
  );
});
