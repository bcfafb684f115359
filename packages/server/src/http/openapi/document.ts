import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { API_PREFIX, ErrorCodes, type ErrorCode } from '@conduit/shared';
import { z } from 'zod';
import type { ApiOperation, MountedOperations, OperationAuth, ResponseDoc } from './operation.js';

export interface DocumentOptions {
  /** CONDUIT_PUBLIC_URL: the only server listed (none without it, so no internal address leaks). */
  publicUrl?: string;
  /** OIDC issuer: its discovery document is named; absent in dev auth. */
  oidcIssuer?: string;
}

/** Express `/groups/:groupId` → OpenAPI `/groups/{groupId}`. */
export const openApiPath = (expressPath: string): string => expressPath.replace(/:(\w+)/g, '{$1}');

const SESSION_ERRORS: readonly ErrorCode[] = ['UNAUTHENTICATED', 'ACCOUNT_LOCKED', 'DEVICE_REVOKED', 'FORBIDDEN'];
const BODY_ERRORS: readonly ErrorCode[] = ['VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
const V1_ERRORS: readonly ErrorCode[] = ['RATE_LIMITED', 'DEPENDENCY_UNAVAILABLE'];

/** What authentication can answer; a malformed (or, with provider tokens, missing) device header is VALIDATION_FAILED. */
const AUTH_ERRORS: Record<OperationAuth, readonly ErrorCode[]> = {
  none: [],
  enrollment: [...SESSION_ERRORS, 'VALIDATION_FAILED', 'RATE_LIMITED'],
  session: [...SESSION_ERRORS, 'UNKNOWN_DEVICE', 'VALIDATION_FAILED', 'RATE_LIMITED'],
  admin: [...SESSION_ERRORS, 'UNKNOWN_DEVICE', 'VALIDATION_FAILED', 'RATE_LIMITED'],
  metrics: ['UNAUTHENTICATED', 'NOT_FOUND'],
};

/** The codes an operation can answer: its own plus those its auth, input and mount imply. */
function errorCodesOf(op: ApiOperation, prefix: string): ErrorCode[] {
  const codes = new Set<ErrorCode>([...(op.errors ?? []), ...AUTH_ERRORS[op.auth], 'INTERNAL']);
  if (op.params || op.query) codes.add('VALIDATION_FAILED');
  if (op.body) BODY_ERRORS.forEach((code) => codes.add(code));
  // Every /v1 request spends its address's budget and may reach Redis, S3 or Sync.
  if (prefix !== '') V1_ERRORS.forEach((code) => codes.add(code));
  return [...codes];
}

const ErrorEnvelope = (codes: readonly ErrorCode[]) =>
  z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  });

function errorResponses(codes: readonly ErrorCode[]): RouteConfig['responses'] {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const { status } = ErrorCodes[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code].sort());
  }
  const responses: RouteConfig['responses'] = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: list.join(', '),
      content: { 'application/json': { schema: ErrorEnvelope(list) } },
    };
  }
  return responses;
}

function securityOf(auth: OperationAuth, oidc: boolean): RouteConfig['security'] {
  if (auth === 'none') return [];
  if (auth === 'metrics') return [{ metricsToken: [] }];
  return [oidc ? { oidc: [] } : { session: [] }];
}

function successResponse(doc: ResponseDoc) {
  const contentType = doc.contentType ?? 'application/json';
  const headers = Object.entries(doc.headers ?? {}).map(([name, description]) => [
    name,
    { description, schema: { type: 'string' } },
  ]);
  return {
    description: doc.description,
    ...(doc.schema || doc.contentType ? { content: { [contentType]: doc.schema ? { schema: doc.schema } : {} } } : {}),
    ...(headers.length > 0 ? { headers: Object.fromEntries(headers) } : {}),
  };
}

/** `get` + `/v1/groups/{groupId}` → `getV1GroupsGroupId`: unique per operation, stable for code generators. */
const operationIdOf = (method: string, path: string): string =>
  method + path.replace(/[^A-Za-z0-9]+(.)?/g, (_match, next: string | undefined) => (next ?? '').toUpperCase());

function routeConfig(op: ApiOperation, prefix: string, oidc: boolean): RouteConfig {
  const path = openApiPath(prefix + op.path);
  const responses: RouteConfig['responses'] = errorResponses(errorCodesOf(op, prefix));
  for (const [status, doc] of Object.entries(op.responses)) responses[status] = successResponse(doc);
  const device = op.auth === 'session' || op.auth === 'enrollment' || op.auth === 'admin';
  return {
    method: op.method,
    path,
    operationId: operationIdOf(op.method, path),
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    security: securityOf(op.auth, oidc),
    ...(device ? { parameters: [{ $ref: '#/components/parameters/ConduitDevice' }] } : {}),
    request: {
      ...(op.params ? { params: op.params } : {}),
      ...(op.query ? { query: op.query } : {}),
      ...(op.body ? { body: { required: true, content: { 'application/json': { schema: op.body } } } } : {}),
    },
    responses,
  };
}

/** The OpenAPI 3.1 document of exactly the operations mounted in this app. */
export function buildOpenApiDocument(mounted: readonly MountedOperations[], opts: DocumentOptions) {
  const registry = new OpenAPIRegistry();
  const oidc = opts.oidcIssuer !== undefined;
  registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'CONDUIT_METRICS_TOKEN (the operator’s scraper).',
  });
  if (oidc) {
    registry.registerComponent('securitySchemes', 'oidc', {
      type: 'openIdConnect',
      openIdConnectUrl: `${opts.oidcIssuer!.replace(/\/$/, '')}/.well-known/openid-configuration`,
      description: "A JWT of the identity provider (Authorization: Bearer); the identity is its 'sub'.",
    });
  } else {
    registry.registerComponent('securitySchemes', 'session', {
      type: 'http',
      scheme: 'bearer',
      description: 'A session token from POST /v1/auth/opaque/login/finish, bound to one device.',
    });
  }
  registry.registerComponent('parameters', 'ConduitDevice', {
    name: 'Conduit-Device',
    in: 'header',
    required: oidc,
    description: oidc
      ? 'The device (endpoint) the request acts for: provider tokens name none.'
      : "May repeat the session's device; naming another is 403 FORBIDDEN.",
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' },
  });
  for (const { prefix, operations } of mounted) {
    for (const op of operations) registry.registerPath(routeConfig(op, prefix, oidc));
  }
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Conduit API',
      version: API_PREFIX.slice(1),
      description: 'End-to-end encrypted file sharing and records sync (docs/api.md).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    ...(opts.publicUrl ? { servers: [{ url: opts.publicUrl }] } : {}),
  });
  return requirePathParameters(document);
}

/**
 * A path parameter is always present and never null (OpenAPI requires `required: true`); the
 * generator derives both from the zod input type, which a coercing schema (`afterSeq`) leaves open.
 */
function requirePathParameters<D extends { paths?: object }>(document: D): D {
  for (const item of Object.values(document.paths ?? {}) as Record<string, { parameters?: unknown[] }>[]) {
    for (const op of Object.values(item)) {
      for (const param of op.parameters ?? []) {
        const p = param as { in?: string; required?: boolean; schema?: { type?: unknown } };
        if (p.in !== 'path') continue;
        p.required = true;
        if (Array.isArray(p.schema?.type)) p.schema.type = p.schema.type.filter((t) => t !== 'null');
      }
    }
  }
  return document;
}
