import { readFile } from 'node:fs/promises';
import { ErrorCodes, type ErrorCode } from '@conduit/client';
import { describe, expect, it } from 'vitest';

// docs/sdk.md lists every error code the SDK can throw with its HTTP status ('-' for codes that
// never come from the server): the table and the code must not drift apart.
const CLIENT_ONLY = '-';

describe('docs/sdk.md error table', () => {
  it('has one row per ErrorCodes entry, with its HTTP status', async () => {
    const doc = await readFile(new URL('../../docs/sdk.md', import.meta.url), 'utf8');
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\| `([A-Z_]+)` +\| +([0-9]+|-) +\|/gm)) rows.set(m[1]!, m[2]!);
    expect([...rows.keys()].sort()).toEqual(Object.keys(ErrorCodes).sort());
    for (const [code, status] of rows) {
      const expected = ErrorCodes[code as ErrorCode].status;
      if (status !== CLIENT_ONLY) expect({ code, status: Number(status) }).toEqual({ code, status: expected });
    }
  });
});
