/**
 * Twilio-shaped errors. Both the REST API and the CDS API (inside Twilsock) answer errors as
 * `{ code, message, more_info, status }`; the clients branch on `status` and `code` only.
 */
export class SyncApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    /** Extra response headers (Retry-After on 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): SyncErrorBody {
    return {
      code: this.code,
      message: this.message,
      more_info: `https://www.twilio.com/docs/errors/${this.code}`,
      status: this.status,
    };
  }
}

export interface SyncErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export const badRequest = (message: string, code = 20001): SyncApiError => new SyncApiError(400, code, message);
export const notFound = (what: string, code = 20404): SyncApiError =>
  new SyncApiError(404, code, `The requested resource ${what} was not found`);
export const forbidden = (): SyncApiError => new SyncApiError(403, 54007, 'Access forbidden for identity');
export const conflict = (message: string, code: number): SyncApiError => new SyncApiError(409, code, message);
/** The kinds of item Twilio gives distinct error codes for (Document codes are 541xx: no Documents here). */
type ItemKind = 'map' | 'list';
/** Map Item revision mismatch (54205), List Item revision mismatch (54155). */
export const revisionMismatch = (kind: ItemKind): SyncApiError =>
  new SyncApiError(412, kind === 'map' ? 54205 : 54155, 'The revision of the item does not match If-Match');
/** Invalid Map Item data (54206), Invalid List Item data (54156): `Data` absent or null. */
export const missingData = (kind: ItemKind): SyncApiError =>
  new SyncApiError(400, kind === 'map' ? 54206 : 54156, "The 'Data' parameter cannot be null");
export const invalidJson = (): SyncApiError => new SyncApiError(400, 54008, "The 'Data' parameter is not valid JSON");
export const tooLarge = (): SyncApiError => new SyncApiError(400, 54006, 'Item data is larger than 16 KiB');
export const rateLimited = (retryAfterSeconds: number): SyncApiError =>
  new SyncApiError(429, 54009, 'Rate limit exceeded for this Sync object', {
    'Retry-After': String(retryAfterSeconds),
  });

/** Status line texts used in Twilsock `http_status` and REST responses. */
export function statusText(code: number): string {
  const texts: Record<number, string> = {
    200: 'OK',
    201: 'Created',
    202: 'Accepted',
    204: 'No Content',
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    412: 'Precondition Failed',
    413: 'Payload Too Large',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return texts[code] ?? 'Unknown';
}
