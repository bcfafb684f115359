/**
 * Typed errors with stable codes. The code is the contract (clients branch on it, docs list it);
 * the message is for humans and never carries secrets, plaintext or stack traces.
 */
export const ErrorCodes = {
  // 400
  VALIDATION_FAILED: { status: 400, message: 'The request is malformed.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  // 401 / 403
  UNAUTHENTICATED: { status: 401, message: 'Missing or invalid credentials.' },
  INVALID_CREDENTIALS: { status: 401, message: 'Wrong identity or password.' },
  REFRESH_TOKEN_REUSED: {
    status: 401,
    message: 'This refresh token was already used: every session of the device was ended (log in again).',
  },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  NOT_A_RECIPIENT: { status: 403, message: 'This endpoint is not a recipient of the pointer.' },
  UNKNOWN_DEVICE: { status: 403, message: 'This device is not registered for the identity.' },
  DEVICE_REVOKED: {
    status: 403,
    message: 'This device was revoked: its sessions are refused and it cannot be registered again.',
  },
  // 404 / 405 / 409
  NOT_FOUND: { status: 404, message: 'No such route.' },
  GROUP_NOT_FOUND: { status: 404, message: 'No such group.' },
  POINTER_NOT_FOUND: { status: 404, message: 'No such pointer.' },
  IDENTITY_NOT_FOUND: { status: 404, message: 'No such identity.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed on this route.' },
  IDENTITY_TAKEN: { status: 409, message: 'This identity is already registered.' },
  GROUP_EXISTS: { status: 409, message: 'A group with this id already exists.' },
  POINTER_EXISTS: { status: 409, message: 'A pointer with this id already exists.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send application/json.' },
  // 5xx: the server's own faults or its dependencies'
  INTERNAL: { status: 500, message: 'Internal error.' },
  DEPENDENCY_UNAVAILABLE: { status: 503, message: 'A backing service is unavailable.' },
  // client-side (never sent by the server)
  INTEGRITY: { status: 0, message: 'Ciphertext or envelope failed verification.' },
  SENDER_MISMATCH: { status: 0, message: 'The pointer was not sealed by its claimed sender.' },
  FORMAT_UNSUPPORTED: { status: 0, message: 'Unsupported format version.' },
  CONFIG: { status: 0, message: 'Configuration is missing or invalid.' },
  TRANSPORT: { status: 0, message: 'A network request failed.' },
  TIMEOUT: { status: 0, message: 'The operation timed out.' },
  // E3Kit: this identity holds no key for the group (the server answers outsiders GROUP_NOT_FOUND)
  NOT_GROUP_MEMBER: { status: 0, message: 'You are not a member of this group.' },
  // delivery guarantees (issue 4)
  OWNER_CANNOT_LEAVE: { status: 409, message: 'The owner cannot be removed from the group.' },
  RECORD_CONFLICT: { status: 409, message: 'The record changed: its head is not the parent you named.' },
  RECORD_NOT_FOUND: { status: 404, message: 'No such record.' },
  AUDIT_CHAIN_BROKEN: { status: 0, message: 'The audit log failed verification.' },
  // trust model (issue 10)
  RATE_LIMITED: { status: 429, message: 'Too many attempts; wait and try again.' },
  IDENTITY_RESERVED: { status: 403, message: 'This identity name is reserved by the operator.' },
  ACCOUNT_LOCKED: { status: 403, message: 'This identity is locked by the operator.' },
  POINTER_MISMATCH: {
    status: 409,
    message: 'The acknowledgement names another object or envelope than the pointer was registered with.',
  },
  IDENTITY_CHANGED: {
    status: 0,
    message: "The identity's key changed since it was first seen; compare safety numbers, then trust it.",
  },
  GROUP_OWNER_CHANGED: { status: 0, message: 'The group owner differs from the one pinned when the group was joined.' },
  SENDER_DEVICE_UNKNOWN: { status: 0, message: "The envelope names a device that is not one of the sender's." },
  SENDER_DEVICE_REVOKED: { status: 0, message: 'The envelope was sent from a device revoked before it was sent.' },
  UNSAFE_PATH: { status: 0, message: 'Refusing to write through a symbolic link or into a folder others control.' },
  // the first hour (issue 11)
  OUT_DIR_MISSING: { status: 0, message: 'The output folder does not exist.' },
  OUT_DIR_UNUSABLE: { status: 0, message: 'The output folder is not a folder this user can write to.' },
  PASSWORD_MISMATCH: { status: 0, message: 'The passwords do not match.' },
  FILE_NOT_FOUND: { status: 0, message: 'No such file to send.' },
  REMOVED_FROM_GROUP: { status: 0, message: 'This identity was removed from the group.' },
  // names (issue 11)
  NAME_AMBIGUOUS: { status: 0, message: 'Several of your groups or devices have this name: use an id.' },
  DEVICE_NOT_FOUND: { status: 404, message: 'No such active device of this identity.' },
  // production mode (issue 15): the server refuses to start, never an HTTP answer
  PRODUCTION_UNSAFE: { status: 0, message: 'Production mode refuses to start with this configuration.' },
  // limits (issue 15): details {quota, limit, used, requested}
  QUOTA_EXCEEDED: { status: 403, message: "This would exceed one of the identity's quotas." },
  // Data lifecycle (docs/lifecycle.md)
  FILE_WITHDRAWN: { status: 410, message: 'The sender or the group owner withdrew this file; it was deleted.' },
  LEGAL_HOLD: { status: 409, message: 'A legal hold forbids deleting this; the operator must release it first.' },
  // identity deletion (docs/lifecycle.md#deleting-an-identity)
  IDENTITY_OWNS_GROUPS: {
    status: 409,
    message: 'The identity owns groups: delete them first, or delete the identity with its groups.',
  },
  REAUTH_REQUIRED: { status: 403, message: 'This needs a fresh proof of the password (or a fresh sign-in).' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class ConduitError extends Error {
  override readonly name = 'ConduitError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string = ErrorCodes[code].message,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = ErrorCodes[code].status;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

/** Rebuilds a typed error from a server response body (unknown codes become TRANSPORT). */
export function errorFromBody(status: number, body: unknown): ConduitError {
  const err = (body as Partial<ErrorBody> | undefined)?.error;
  if (err && isErrorCode(err.code)) {
    return new ConduitError(err.code, typeof err.message === 'string' ? err.message : undefined, err.details);
  }
  return new ConduitError('TRANSPORT', `Unexpected HTTP ${status} from server.`);
}
