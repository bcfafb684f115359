/**
 * Errors the directory answers with. Virgil clients read `{code, message}` from any 4xx body
 * (virgil-sdk `generateErrorFromResponse`, keyknox and pythia axios interceptors) and branch on a
 * few codes: 20304 makes CardManager fetch a fresh token, 50010 means "stale Keyknox hash".
 */
export const VirgilErrors = {
  MALFORMED_JSON: { status: 400, code: 40000, message: 'The request body is not valid JSON.' },
  VALIDATION_FAILED: { status: 400, code: 40001, message: 'The request is malformed.' },
  INVALID_CARD: { status: 400, code: 40010, message: 'The card is malformed.' },
  INVALID_SELF_SIGNATURE: { status: 400, code: 40011, message: 'The card self signature is invalid.' },
  IDENTITY_MISMATCH: { status: 403, code: 40012, message: 'The card identity does not match the token identity.' },
  INVALID_PREVIOUS_CARD: {
    status: 400,
    code: 40013,
    message: 'previous_card_id does not name a live card of this identity.',
  },
  CARD_EXISTS: { status: 409, code: 40014, message: 'This card is already published.' },
  INVALID_BLINDED_PASSWORD: { status: 400, code: 60010, message: 'The blinded password is invalid.' },
  MISSING_TOKEN: { status: 401, code: 20300, message: 'Missing or malformed Authorization header.' },
  INVALID_TOKEN: { status: 401, code: 20303, message: 'The access token is invalid.' },
  EXPIRED_TOKEN: { status: 401, code: 20304, message: 'The access token has expired.' },
  FORBIDDEN: { status: 403, code: 20500, message: 'Not allowed for this identity.' },
  NOT_FOUND: { status: 404, code: 40400, message: 'Not found.' },
  PAYLOAD_TOO_LARGE: { status: 413, code: 40130, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, code: 40150, message: 'Send application/json.' },
  STALE_HASH: { status: 409, code: 50010, message: 'Keyknox hash is stale: pull and retry.' },
  INTERNAL: { status: 500, code: 10000, message: 'Internal error.' },
} as const satisfies Record<string, { status: number; code: number; message: string }>;

export type VirgilErrorName = keyof typeof VirgilErrors;

export class VirgilServiceError extends Error {
  override readonly name = 'VirgilServiceError';
  readonly status: number;
  readonly code: number;

  constructor(readonly kind: VirgilErrorName) {
    super(VirgilErrors[kind].message);
    this.status = VirgilErrors[kind].status;
    this.code = VirgilErrors[kind].code;
  }

  toBody(): { code: number; message: string } {
    return { code: this.code, message: this.message };
  }
}
