import { identityFromSubject } from '@conduit/shared';
import type { DemoSignIn } from '@conduit/devstack';
import * as oidc from 'openid-client';
import { deviceLogin } from './device-login.js';
import { discoverIssuer, providerError } from './issuer.js';
import { DEFAULT_OIDC_SCOPE } from '../settings/config.js';

/**
 * `conduit demo --oidc`'s sign-in: the same device authorization grant as `conduit login --oidc`,
 * at the stack's OpenID Provider, with the user's approval played by the devstack through the
 * provider's own pages. The ID tokens renew with the refresh token, kept in memory for the demo.
 */
export const demoSignIn: DemoSignIn = async (stack, subject, signal = new AbortController().signal) => {
  const provider = stack.oidc;
  if (!provider) throw new Error('the demo stack runs without an OpenID Provider');
  const config = await discoverIssuer({ ...provider, scope: DEFAULT_OIDC_SCOPE });
  let approval: Promise<void> | undefined;
  const tokens = await deviceLogin(
    config,
    DEFAULT_OIDC_SCOPE,
    (prompt) => {
      approval = provider.approve(prompt.verificationUriComplete ?? prompt.verificationUri, subject);
    },
    signal,
  );
  await approval;
  let { idToken, refreshToken } = tokens;
  let first = true;
  return {
    identity: identityFromSubject(tokens.subject),
    idToken: async () => {
      if (first) {
        first = false;
        return idToken;
      }
      try {
        const next = await oidc.refreshTokenGrant(config, refreshToken);
        idToken = next.id_token ?? idToken;
        refreshToken = next.refresh_token ?? refreshToken;
        return idToken;
      } catch (err) {
        throw providerError(err, 'Renewing the demo sign-in');
      }
    },
  };
};
