import { ConduitError } from '@conduit/shared';
import type { ErrorCode } from '@conduit/shared';
import type { DemoCheckFailed } from '@conduit/devstack';
import { Interrupted } from '../process/interrupt.js';

/**
 * Exit codes of the `conduit` CLI (stable; scripts branch on them):
 *   0  success
 *   1  unexpected internal error (a bug: please report it)
 *   2  usage or configuration error (bad arguments, missing settings, invalid input)
 *   3  authentication or permission (not logged in, wrong password, not a member)
 *   4  not found or already exists (identity, group, pointer)
 *   5  integrity: a file or envelope failed verification, or was not sealed by its sender
 *   6  network or service failure (server, object storage, key directory or Sync unreachable)
 *   7  timeout
 *   8  a demo check failed (the system ran but did not behave as promised)
 *   130 interrupted by Ctrl-C (143 by SIGTERM): run the same command again to resume
 */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  AUTH: 3,
  NOT_FOUND: 4,
  INTEGRITY: 5,
  UNAVAILABLE: 6,
  TIMEOUT: 7,
  DEMO_FAILED: 8,
} as const;

/** A ConduitError whose hint is its own rather than its code's (a case the code's hint does not fit). */
export class HintedError extends ConduitError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, undefined, options);
  }
}

/** The devstack's DemoCheckFailed, matched by its code: the devstack is loaded only on demand. */
const DEMO_CHECK_FAILED: DemoCheckFailed['code'] = 'DEMO_CHECK_FAILED';

function isDemoCheckFailed(err: unknown): err is DemoCheckFailed {
  return err instanceof Error && (err as Partial<DemoCheckFailed>).code === DEMO_CHECK_FAILED;
}

const EXIT_BY_CODE: Record<ErrorCode, number> = {
  VALIDATION_FAILED: EXIT.USAGE,
  PAYLOAD_TOO_LARGE: EXIT.USAGE,
  CONFIG: EXIT.USAGE,
  UNSUPPORTED_MEDIA_TYPE: EXIT.INTERNAL,
  METHOD_NOT_ALLOWED: EXIT.INTERNAL,
  NOT_FOUND: EXIT.UNAVAILABLE,
  UNAUTHENTICATED: EXIT.AUTH,
  INVALID_CREDENTIALS: EXIT.AUTH,
  REFRESH_TOKEN_REUSED: EXIT.AUTH,
  FORBIDDEN: EXIT.AUTH,
  NOT_GROUP_MEMBER: EXIT.AUTH,
  NOT_A_RECIPIENT: EXIT.AUTH,
  UNKNOWN_DEVICE: EXIT.AUTH,
  DEVICE_REVOKED: EXIT.AUTH,
  GROUP_NOT_FOUND: EXIT.NOT_FOUND,
  POINTER_NOT_FOUND: EXIT.NOT_FOUND,
  IDENTITY_NOT_FOUND: EXIT.NOT_FOUND,
  IDENTITY_TAKEN: EXIT.NOT_FOUND,
  GROUP_EXISTS: EXIT.NOT_FOUND,
  POINTER_EXISTS: EXIT.NOT_FOUND,
  INTEGRITY: EXIT.INTEGRITY,
  SENDER_MISMATCH: EXIT.INTEGRITY,
  FORMAT_UNSUPPORTED: EXIT.INTEGRITY,
  INTERNAL: EXIT.UNAVAILABLE,
  DEPENDENCY_UNAVAILABLE: EXIT.UNAVAILABLE,
  TRANSPORT: EXIT.UNAVAILABLE,
  TIMEOUT: EXIT.TIMEOUT,
  OWNER_CANNOT_LEAVE: EXIT.NOT_FOUND,
  AUDIT_CHAIN_BROKEN: EXIT.INTEGRITY,
  RECORD_CONFLICT: EXIT.NOT_FOUND,
  RECORD_NOT_FOUND: EXIT.NOT_FOUND,
  RATE_LIMITED: EXIT.UNAVAILABLE,
  IDENTITY_RESERVED: EXIT.AUTH,
  ACCOUNT_LOCKED: EXIT.AUTH,
  POINTER_MISMATCH: EXIT.INTEGRITY,
  IDENTITY_CHANGED: EXIT.INTEGRITY,
  GROUP_OWNER_CHANGED: EXIT.INTEGRITY,
  SENDER_DEVICE_UNKNOWN: EXIT.INTEGRITY,
  SENDER_DEVICE_REVOKED: EXIT.INTEGRITY,
  UNSAFE_PATH: EXIT.INTEGRITY,
  OUT_DIR_MISSING: EXIT.USAGE,
  OUT_DIR_UNUSABLE: EXIT.USAGE,
  PASSWORD_MISMATCH: EXIT.USAGE,
  FILE_NOT_FOUND: EXIT.USAGE,
  REMOVED_FROM_GROUP: EXIT.AUTH,
  NAME_AMBIGUOUS: EXIT.USAGE,
  DEVICE_NOT_FOUND: EXIT.NOT_FOUND,
  PRODUCTION_UNSAFE: EXIT.USAGE,
  QUOTA_EXCEEDED: EXIT.AUTH,
  FILE_WITHDRAWN: EXIT.NOT_FOUND,
  LEGAL_HOLD: EXIT.AUTH,
  IDENTITY_OWNS_GROUPS: EXIT.NOT_FOUND,
  REAUTH_REQUIRED: EXIT.AUTH,
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: 'check the arguments (see --help).',
  PAYLOAD_TOO_LARGE: 'send a smaller file.',
  CONFIG: 'check --home, --server, --as and the CONDUIT_* environment variables.',
  PRODUCTION_UNSAFE: "change the server settings its message names (docs/configuration.md, 'Production mode').",
  UNAUTHENTICATED: 'run `conduit login` (the session is missing or expired).',
  INVALID_CREDENTIALS: 'check the identity and password (CONDUIT_PASSWORD).',
  REFRESH_TOKEN_REUSED:
    "another copy of this device's refresh token was used (a leaked token?): log in again (`conduit login`), and revoke the device if you did not do it.",
  NOT_GROUP_MEMBER: 'ask the group owner to add you, or check the group id.',
  UNKNOWN_DEVICE: 'run `conduit login` to register this device.',
  DEVICE_REVOKED:
    'this device was revoked (from another device of the identity) and its id is refused for good. ' +
    'To use this machine again, delete its state for the identity (`rm -r <home>/<identity>`; home is ' +
    '--home, CONDUIT_HOME or ~/.conduit) and run `conduit login`: it enrolls as a new device.',
  NOT_A_RECIPIENT: 'this device joined after the file was sent; ask the sender to send it again.',
  GROUP_NOT_FOUND: 'check the group id, and that you are a member (the server answers alike for both).',
  POINTER_NOT_FOUND: 'check the pointer id and your membership of its group; it may have been purged long ago.',
  IDENTITY_NOT_FOUND: 'the identity must run `conduit register` first.',
  IDENTITY_TAKEN: 'choose another identity, or run `conduit login`.',
  INTEGRITY: 'do not trust this file; report the pointer id to the sender and your administrator.',
  SENDER_MISMATCH: 'do not trust this file; its claimed sender did not seal it.',
  FORMAT_UNSUPPORTED: 'upgrade conduit.',
  TRANSPORT: 'check --server (CONDUIT_SERVER_URL) and that the server is running (`conduit stack up` locally).',
  DEPENDENCY_UNAVAILABLE: 'a backing service is down; retry shortly or check `conduit stack up`.',
  INTERNAL: 'retry; if it persists, check the server logs.',
  TIMEOUT: 'retry, or raise --timeout.',
  RATE_LIMITED: 'wait a minute before trying again.',
  QUOTA_EXCEEDED:
    'the identity reached a quota (details name it): wait for pending files to be received, or ask the operator to raise it.',
  IDENTITY_RESERVED: 'choose another identity, or ask the operator for a registration code.',
  FILE_WITHDRAWN: 'the sender or the group owner withdrew this file; ask the sender if you still need it.',
  LEGAL_HOLD: 'a legal hold (details name it) forbids deleting this; the operator must release it first.',
  IDENTITY_OWNS_GROUPS: 'delete the groups it owns first (details list them), or repeat with --with-groups.',
  REAUTH_REQUIRED: 'sign in again (OIDC: `conduit login`), then repeat within five minutes.',
  ACCOUNT_LOCKED: 'ask the operator to unlock the identity.',
  POINTER_MISMATCH: 'do not trust this file; report the pointer id to your administrator.',
  IDENTITY_CHANGED:
    'compare `conduit verify <identity>` with that person out of band; if the numbers match, run `conduit trust <identity>`.',
  GROUP_OWNER_CHANGED: 'do not trust this group; ask its owner and your administrator.',
  SENDER_DEVICE_UNKNOWN: 'do not trust this file; report the pointer id to the sender and your administrator.',
  SENDER_DEVICE_REVOKED: 'do not trust this file: it came from a revoked device; tell the sender.',
  UNSAFE_PATH: 'remove the symbolic link or choose another --out folder.',
  OUT_DIR_MISSING: 'create the folder, pass --mkdir to have it created, or choose another --out.',
  OUT_DIR_UNUSABLE: 'choose a folder you can write to with --out, or fix its permissions (ls -ld shows them).',
  PASSWORD_MISMATCH: 'nothing was changed: run the command again and type the same password both times.',
  FILE_NOT_FOUND:
    'check the path (relative paths start at the current folder); to send standard input, give - and --name.',
  REMOVED_FROM_GROUP:
    "you cannot read the group's new files any more; if that is a mistake, ask its owner to add you again " +
    '(files received so far are kept).',
  FORBIDDEN:
    'you lack the right for this: owner-only actions need the group owner, admin routes an admin identity; ' +
    '"No access" to a Sync map means you are no longer a member (ask the owner to add you again).',
  NOT_FOUND:
    'the server or Sync has no such route, map or item: check that --server (CONDUIT_SERVER_URL) is a Conduit ' +
    'server of this version, and retry; if it persists, tell its operator.',
  UNSUPPORTED_MEDIA_TYPE: 'the client and server versions differ: upgrade conduit, or check --server.',
  METHOD_NOT_ALLOWED: 'the client and server versions differ: upgrade conduit, or check --server.',
  GROUP_EXISTS: 'run the command again: each try draws a new group id.',
  POINTER_EXISTS: 'run the send again with --restart: it draws a new pointer id.',
  OWNER_CANNOT_LEAVE: 'the owner cannot leave its group: remove the members (`conduit group remove`) instead.',
  AUDIT_CHAIN_BROKEN: 'the audit log was altered: keep a copy of it and tell your security team.',
  RECORD_CONFLICT: 'run the command again: it catches up to the new head first.',
  RECORD_NOT_FOUND: 'list the keys with `conduit record ls <groupId>`; `conduit record history` shows deleted ones.',
  NAME_AMBIGUOUS: 'use one of the ids listed (or rename one of them first).',
  DEVICE_NOT_FOUND: 'check the device id or name: `conduit device ls` lists your devices.',
};

const FS_HINTS: Record<'ENOENT' | 'EACCES' | 'EISDIR' | 'ENOTDIR', string> = {
  ENOENT: 'the path does not exist: check it (relative paths start at the current folder).',
  EACCES: 'this user may not use the path: check its permissions (ls -l), or choose another.',
  EISDIR: 'the path is a folder: give a file.',
  ENOTDIR: 'a part of the path is not a folder: check it.',
};

export interface Failure {
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

/** Turns anything thrown into what the user sees. Unknown errors show only their class, never details. */
export function describeFailure(err: unknown): Failure {
  if (err instanceof ConduitError) {
    const hint = err instanceof HintedError ? err.hint : HINTS[err.code];
    return { code: err.code, message: err.message, hint, exitCode: EXIT_BY_CODE[err.code] };
  }
  if (err instanceof Interrupted) return { code: 'INTERRUPTED', message: err.message, exitCode: err.exitCode };
  if (isDemoCheckFailed(err)) {
    return { code: err.code, message: err.message, exitCode: EXIT.DEMO_FAILED };
  }
  const fsErr = err as NodeJS.ErrnoException | null;
  if (fsErr?.code === 'ENOENT' || fsErr?.code === 'EACCES' || fsErr?.code === 'EISDIR' || fsErr?.code === 'ENOTDIR') {
    const where = typeof fsErr.path === 'string' ? ` (${fsErr.path})` : '';
    return {
      code: 'CONFIG',
      message: `File system: ${fsErr.code}${where}.`,
      hint: FS_HINTS[fsErr.code],
      exitCode: EXIT.USAGE,
    };
  }
  const name = err instanceof Error ? err.name : typeof err;
  return {
    code: 'INTERNAL',
    message: `Unexpected ${name}.`,
    hint: 'set CONDUIT_DEBUG=1 for details, and report it.',
    exitCode: EXIT.INTERNAL,
  };
}

/** On stderr: `error CODE: message` and `hint: ...`, an interruption as its bare line, or JSON. */
export function printFailure(failure: Failure, json: boolean): void {
  if (json) {
    console.error(JSON.stringify({ error: { code: failure.code, message: failure.message, hint: failure.hint } }));
  } else if (failure.code === 'INTERRUPTED') {
    console.error(failure.message);
  } else {
    console.error(`error ${failure.code}: ${failure.message}`);
    if (failure.hint) console.error(`hint: ${failure.hint}`);
  }
}
