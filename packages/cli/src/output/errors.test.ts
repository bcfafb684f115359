import { DemoCheckFailed } from '@conduit/devstack';
import { ConduitError, ErrorCodes } from '@conduit/shared';
import type { ErrorCode } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { describeFailure, EXIT } from './errors.js';

// Issue 11 item 7: every error a person can meet says what to do next.
describe('describeFailure', () => {
  it.each(Object.keys(ErrorCodes) as ErrorCode[])('%s has a hint and an exit code', (code) => {
    const failure = describeFailure(new ConduitError(code));
    expect(failure.hint, code).toMatch(/\w{3,}/);
    expect(Object.values(EXIT)).toContain(failure.exitCode);
  });

  it.each(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR'])('file system %s has a specific hint', (code) => {
    const err = Object.assign(new Error('x'), { code, path: '/some/path' });
    const failure = describeFailure(err);
    expect(failure).toMatchObject({ code: 'CONFIG', message: `File system: ${code} (/some/path).`, exitCode: 2 });
    expect(failure.hint).not.toBe('check the paths given.');
  });

  it("the devstack's failed demo check: exit 8", () => {
    expect(describeFailure(new DemoCheckFailed('The pointer was not purged.'))).toEqual({
      code: 'DEMO_CHECK_FAILED',
      message: 'The pointer was not purged.',
      exitCode: 8,
    });
  });
});
