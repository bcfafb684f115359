import { describe, expect, it } from 'vitest';
import { ConduitError } from '@conduit/shared';
import { fromVirgilError } from './errors.js';

/** Errors shaped as e3kit-base / virgil-sdk throw them (matched by name, as the classes are not exported uniformly). */
const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error('x'), { name }, extra);

describe('fromVirgilError', () => {
  it.each([
    [named('GroupError', { errorCode: 7 }), 'SENDER_MISMATCH'],
    [named('GroupError', { errorCode: 9 }), 'INTEGRITY'],
    [named('GroupError', { errorCode: 11 }), 'NOT_GROUP_MEMBER'],
    [named('CardVerificationError'), 'SENDER_MISMATCH'],
    [named('WrongKeyknoxPasswordError'), 'INVALID_CREDENTIALS'],
    [named('VirgilHttpError', { status: 401 }), 'UNAUTHENTICATED'],
    [named('VirgilHttpError', { status: 500 }), 'DEPENDENCY_UNAVAILABLE'],
    [Object.assign(new TypeError('fetch failed')), 'DEPENDENCY_UNAVAILABLE'],
    [new TypeError('x is not a function'), 'INTERNAL'],
  ])('%s -> %s', (err, code) => {
    expect(fromVirgilError(err, 'Doing it').code).toBe(code);
  });

  it('names the missing identities and keeps typed errors as they are', () => {
    expect(fromVirgilError(named('UsersNotFoundError', { identities: ['carol'] }), 'Finding').message).toContain(
      'carol',
    );
    const typed = new ConduitError('TIMEOUT');
    expect(fromVirgilError(typed, 'x')).toBe(typed);
  });
});
