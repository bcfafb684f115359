/** The CONDUIT_* variables the CLI reads; profiles (profiles.ts) hold values of the connection ones. */
export const ENV = {
  home: 'CONDUIT_HOME',
  server: 'CONDUIT_SERVER_URL',
  identity: 'CONDUIT_IDENTITY',
  virgilApiUrl: 'CONDUIT_VIRGIL_API_URL',
  virgilServiceKey: 'CONDUIT_VIRGIL_SERVICE_KEY',
  twilsockUri: 'CONDUIT_TWILSOCK_URI',
  password: 'CONDUIT_PASSWORD',
  debug: 'CONDUIT_DEBUG',
  profile: 'CONDUIT_PROFILE',
  oidcIssuer: 'CONDUIT_OIDC_ISSUER',
  oidcClientId: 'CONDUIT_OIDC_CLIENT_ID',
  oidcScope: 'CONDUIT_OIDC_SCOPE',
} as const;
