import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';

/** The subjects the local provider knows (docs/devstack.md); the tests sign in as the first two. */
export const DEFAULT_OIDC_ACCOUNTS = ['auth0|abc', 'jane@example.org', 'alice', 'bob', 'carol'] as const;

/** The public client the CLI logs in as; also the audience of its ID tokens. */
export const DEFAULT_OIDC_CLIENT_ID = 'conduit-cli';

/** Lifetimes set explicitly (oidc-provider otherwise warns about each default). */
const TTL_SECONDS = {
  AccessToken: 3600,
  IdToken: 3600,
  DeviceCode: 600,
  Interaction: 600,
  Session: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
  RefreshToken: 14 * 24 * 3600,
};

export interface LocalOidcProviderOptions {
  /** Default: a free port. */
  port?: number;
  accounts?: readonly string[];
  clientId?: string;
  /** The polling interval the device authorization response asks for (RFC 8628 §3.2), in seconds. */
  pollIntervalSeconds?: number;
}

export interface LocalOidcProvider {
  issuer: string;
  clientId: string;
  jwksUrl: string;
  close(): Promise<void>;
}

/**
 * A real OpenID Provider (panva's oidc-provider) on a local port: discovery, JWKS, the device
 * authorization grant (RFC 8628) and refresh tokens for `offline_access`. Its signing key is
 * generated at every start and its grants live in memory: a restart signs everyone out.
 * Sign-in is oidc-provider's own development interaction (a login form taking the subject, then a
 * consent form), which `approveDeviceLogin` submits without a browser.
 */
export async function startOidcProvider(opts: LocalOidcProviderOptions = {}): Promise<LocalOidcProvider> {
  const accounts = new Set(opts.accounts ?? DEFAULT_OIDC_ACCOUNTS);
  const clientId = opts.clientId ?? DEFAULT_OIDC_CLIENT_ID;
  const interval = opts.pollIntervalSeconds ?? 1;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    // Loaded only when a provider starts: the module warns on load about Node 20 (it wants 22).
    const { default: Provider } = await import('oidc-provider');
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const signingKey = {
      ...(await exportJWK(privateKey)),
      kid: randomBytes(8).toString('hex'),
      alg: 'RS256',
      use: 'sig',
    };
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_name: 'Conduit CLI',
          token_endpoint_auth_method: 'none',
          grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
          response_types: [],
          redirect_uris: [],
        },
      ],
      jwks: { keys: [signingKey] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      scopes: ['openid', 'offline_access'],
      ttl: TTL_SECONDS,
      features: { deviceFlow: { enabled: true }, devInteractions: { enabled: true }, revocation: { enabled: true } },
      // Unknown subjects sign in at the form but get no token: only these accounts exist.
      findAccount: (_ctx, sub) => (accounts.has(sub) ? { accountId: sub, claims: () => ({ sub }) } : undefined),
    });
    // oidc-provider leaves `interval` out of the device authorization response (clients then wait 5 s).
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/device/auth' && ctx.status === 200 && typeof ctx.body === 'object' && ctx.body !== null) {
        (ctx.body as Record<string, unknown>).interval = interval;
      }
    });
    server.on('request', provider.callback());
  } catch (err) {
    server.close();
    throw err;
  }
  return {
    issuer,
    clientId,
    jwksUrl: `${issuer}/jwks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
