import { ConduitError } from '@conduit/shared';

/**
 * E3Kit and virgil-sdk throw their own error classes (matched by `name`, as they cross
 * module copies). Callers of this package only ever see ConduitError codes.
 */
const GROUP_ERRORS: Record<number, ConduitError['code']> = {
  1: 'GROUP_NOT_FOUND', // LocalGroupNotFound
  2: 'FORBIDDEN', // PermissionDenied
  3: 'GROUP_NOT_FOUND', // RemoteGroupNotFound
  5: 'VALIDATION_FAILED', // InvalidChangeParticipants (e.g. removing someone who is not a participant)
  6: 'VALIDATION_FAILED', // InvalidParticipantsCount: more than 100 participants
  12: 'VALIDATION_FAILED', // ParticipantAlreadyAdded
  7: 'SENDER_MISMATCH', // DataVerificationFailed: the signature is not the claimed sender's
  9: 'INTEGRITY', // MessageNotFromThisGroup
  11: 'NOT_GROUP_MEMBER', // NoAccess
};
/** What to tell the user for the group errors with a known way forward. */
const GROUP_MESSAGES: Record<number, string> = {
  2: 'only the group owner (its creator) can change its members.',
  6: 'a group holds at most 100 participants.',
  12: 'that identity is already a participant.',
};

export function fromVirgilError(err: unknown, action: string): ConduitError {
  if (err instanceof ConduitError) return err;
  const e = (err ?? {}) as { name?: unknown; message?: unknown; errorCode?: unknown; status?: unknown };
  const wrap = (code: ConduitError['code'], message: string) =>
    new ConduitError(code, `${action}: ${message}`, undefined, { cause: err });
  switch (e.name) {
    case 'GroupError': {
      const code = typeof e.errorCode === 'number' ? GROUP_ERRORS[e.errorCode] : undefined;
      const message = typeof e.errorCode === 'number' ? GROUP_MESSAGES[e.errorCode] : undefined;
      return wrap(code ?? 'INTERNAL', message ?? 'group key operation failed.');
    }
    case 'GroupTicketNoAccessError':
      return wrap('NOT_GROUP_MEMBER', 'this identity has no key for the group (removed, or its key was rotated).');
    case 'CloudEntryExistsError':
      return wrap('IDENTITY_TAKEN', 'a private key backup already exists for this identity.');
    case 'PrivateKeyAlreadyExistsError':
      return wrap('CONFIG', 'this device already holds a private key.');
    case 'KeyknoxClientError': {
      const status = typeof e.status === 'number' ? e.status : 0;
      if (status === 401 || status === 403)
        return wrap('UNAUTHENTICATED', 'the key service rejected the access token.');
      return wrap('DEPENDENCY_UNAVAILABLE', 'the key service answered with an error.');
    }
    case 'CardVerificationError':
      return wrap('SENDER_MISMATCH', 'a public key card failed verification against the directory key.');
    case 'UsersNotFoundError':
    case 'LookupNotFoundError':
    case 'RegisterRequiredError': {
      const ids = (err as { identities?: unknown }).identities;
      const who = Array.isArray(ids) && ids.length > 0 ? ids.map(String).join(', ') : 'that identity';
      return wrap('IDENTITY_NOT_FOUND', `no public key is registered for ${who}.`);
    }
    case 'MultipleCardsError':
    case 'UsersFoundWithMultipleCardsError':
      return wrap('INTEGRITY', 'an identity has more than one public key card.');
    case 'WrongKeyknoxPasswordError':
      return wrap('INVALID_CREDENTIALS', 'the password does not open the private key backup.');
    case 'PrivateKeyNoBackupError':
      return wrap('CONFIG', 'no private key backup exists for this identity.');
    case 'MissingPrivateKeyError':
      return wrap('CONFIG', 'this device has no private key.');
    case 'VirgilHttpError':
      return e.status === 401 || e.status === 403
        ? wrap('UNAUTHENTICATED', 'the key directory rejected the access token.')
        : wrap('DEPENDENCY_UNAVAILABLE', 'the key directory answered with an error.');
    case 'FetchError':
      return wrap('DEPENDENCY_UNAVAILABLE', 'the key directory is unreachable.');
    default:
      // Node's fetch reports network failures as a bare TypeError('fetch failed').
      if (e.name === 'TypeError' && e.message === 'fetch failed') {
        return wrap('DEPENDENCY_UNAVAILABLE', 'the key directory is unreachable.');
      }
      return wrap('INTERNAL', 'key operation failed.');
  }
}

/** Runs one E3Kit call, translating its errors. */
export async function virgil<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromVirgilError(err, action);
  }
}
