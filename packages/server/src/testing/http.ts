import { ErrorCodes } from '@conduit/shared';
import type { ErrorCode } from '@conduit/shared';
import { expect, it } from 'vitest';

/** One request of a route test against a running server. */
export interface Call {
  method?: string;
  path: string;
  token?: string;
  device?: string;
  /** Objects are sent as JSON; strings are sent verbatim (to test malformed bodies). */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  body: unknown;
  headers: Headers;
}

/** A small HTTP client for route tests; `baseUrl` is read per call (servers start in beforeAll). */
export function apiCaller(baseUrl: () => string) {
  async function call(c: Call, base = baseUrl()): Promise<Reply> {
    const headers: Record<string, string> = { ...c.headers };
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    if (c.device) headers['conduit-device'] = c.device;
    let body: string | undefined;
    if (c.body !== undefined) {
      body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      headers['content-type'] = c.contentType ?? 'application/json';
    }
    const res = await fetch(base + c.path, { method: c.method ?? 'GET', headers, body });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  async function ok<T = Record<string, unknown>>(c: Call, status = 200): Promise<T> {
    const res = await call(c);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body as T;
  }

  /** Dev-auth registration of each identity with `password`. */
  async function registerAll(identities: string[], password: string): Promise<void> {
    for (const identity of identities) {
      await ok({ method: 'POST', path: '/v1/auth/register', body: { identity, password } }, 201);
    }
  }

  /** Dev-auth login of a registered identity on `deviceId` (not enrolled): the session token. */
  async function login(identity: string, password: string, deviceId: string): Promise<string> {
    const body = { identity, password, deviceId };
    return (await ok<{ token: string }>({ method: 'POST', path: '/v1/auth/login', body })).token;
  }

  /** Logs in on `deviceId` and enrolls the device, as a client does: the device's session token. */
  async function enroll(identity: string, password: string, deviceId: string): Promise<string> {
    const token = await login(identity, password, deviceId);
    await ok({ method: 'PUT', path: `/v1/devices/${deviceId}`, token });
    return token;
  }

  return { call, ok, registerAll, login, enroll };
}

/** Asserts an error body's code and a non-empty message; returns the error. */
export function expectError(body: unknown, code: ErrorCode): { code: string; message: string; details?: unknown } {
  const error = (body as { error: { code: string; message: string; details?: unknown } }).error;
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(0);
  return error;
}

/** One refused request: what to send, and the status and code it must get. */
export type RefusalCase = [name: string, call: () => Call, status: number, code: ErrorCode];

/** One test per case: the documented status and a typed error body; `more` checks each reply further. */
export function itRefusesAll(
  call: (c: Call) => Promise<Reply>,
  cases: RefusalCase[],
  more?: (res: Reply) => void,
): void {
  it.each(cases.map(([name, c, status, code]) => [`${name} -> ${status} ${code}`, c, status, code] as const))(
    '%s',
    async (_title, makeCall, status, code) => {
      expect(ErrorCodes[code].status).toBe(status);
      const res = await call(makeCall());
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expectError(res.body, code);
      more?.(res);
    },
  );
}
