import type { ErrorCode } from '@conduit/shared';
import type { z } from 'zod';

/**
 * Who may call an operation: `session` is a bearer session (dev auth) or provider JWT (OIDC) acting
 * for one enrolled device; `enrollment` the same for a device not enrolled yet; `admin` a session
 * of an identity in CONDUIT_ADMIN_IDENTITIES; `metrics` the bearer CONDUIT_METRICS_TOKEN.
 */
export type OperationAuth = 'none' | 'session' | 'enrollment' | 'admin' | 'metrics';

export interface ResponseDoc {
  description: string;
  /** The zod schema the route replies with (`reply()`); absent: no body, or `contentType` text. */
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * One documented route, declared next to the Express route it describes and built from the same
 * zod schemas the route validates with. `path` is the Express path within its router
 * (`/groups/:groupId`); the app adds the mount prefix.
 */
export interface ApiOperation {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  description?: string;
  tag: string;
  auth: OperationAuth;
  params?: z.ZodObject;
  body?: z.ZodType;
  /** Success responses by status. */
  responses: Record<number, ResponseDoc>;
  /** The route's own error codes; the ones its auth, params and body imply are added for it. */
  errors?: readonly ErrorCode[];
  /** Query parameters the handler reads itself (the app parses no query strings). */
  query?: z.ZodObject;
}

/** Operations of one router and the prefix it is mounted under ('' for the app root). */
export interface MountedOperations {
  prefix: string;
  operations: readonly ApiOperation[];
}
