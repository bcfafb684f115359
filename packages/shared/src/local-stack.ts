import { z } from 'zod';

/**
 * A running local stack's settings, written by the stack into its data folder (mode 0600) and read
 * by the CLI when no server is configured: URLs and the key directory's public key, no secrets.
 */
export const LOCAL_STACK_SETTINGS_FILE = 'stack.json';

/** `conduit stack up` binds the API here and the other stand-ins on the next ports (see devstack.md). */
export const DEFAULT_STACK_BASE_PORT = 7470;

/** The environment variable that moves that base port (`--port` wins over it). */
export const STACK_PORT_ENV = 'CONDUIT_STACK_PORT';

export const LocalStackSettings = z.object({
  /** The process running the stack: a file whose process is gone is stale. */
  pid: z.number().int().positive(),
  clientEnv: z.strictObject({
    CONDUIT_SERVER_URL: z.url(),
    CONDUIT_VIRGIL_API_URL: z.url(),
    CONDUIT_VIRGIL_SERVICE_KEY: z.string().min(1).max(4096),
    CONDUIT_TWILSOCK_URI: z.url(),
    /** A stack in OIDC mode: its local identity provider and the CLI's client id there. */
    CONDUIT_OIDC_ISSUER: z.url().optional(),
    CONDUIT_OIDC_CLIENT_ID: z.string().min(1).max(256).optional(),
  }),
});
export type LocalStackSettings = z.infer<typeof LocalStackSettings>;
