import type { ErrorCode } from '@conduit/shared';
import { expect } from 'vitest';

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

  return { call, ok, login, enroll };
}

/** Asserts an error body's code and a non-empty message; returns the error. */
export function expectError(body: unknown, code: ErrorCode): { code: string; message: string; details?: unknown } {
  const error = (body as { error: { code: string; message: string; details?: unknown } }).error;
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(0);
  return error;
}
