import type { Command } from 'commander';
import type { LogoutResult } from '@conduit/client';
import { revokeRefreshToken } from '../oidc/id-tokens.js';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';
import { oidcSettings } from '../settings/config.js';

const SAID: Record<LogoutResult, string> = {
  ended: "this device's sessions are ended at the server",
  provider: "the session was your identity provider's: end it there too (Conduit cannot)",
  none: 'this device had no live session',
};

/** What became of an identity provider's refresh token (OIDC mode). */
type RefreshTokenResult = 'revoked' | 'forgotten' | 'none';

const SAID_REFRESH: Record<RefreshTokenResult, string> = {
  revoked: 'the refresh token is revoked at the identity provider and deleted here',
  forgotten: 'the refresh token is deleted here (the identity provider could not be asked to revoke it)',
  none: 'no refresh token was kept',
};

/**
 * `conduit logout`: ends this device's sessions at the server and forgets the stored one; in OIDC
 * mode also revokes and deletes the identity provider's refresh token.
 */
export function addLogoutCommand(program: Command): void {
  program
    .command('logout')
    .description("end this device's sessions at the server (the private key stays; `conduit login` to come back)")
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const result = await client.logout();
        const oidc = oidcSettings(g);
        let refresh: RefreshTokenResult | undefined;
        if (oidc) {
          const token = await client.refreshToken();
          refresh = token ? ((await revokeRefreshToken(oidc, token)) ? 'revoked' : 'forgotten') : 'none';
          if (token) await client.forgetRefreshToken();
        }
        const said = `logged out ${client.identity} (device ${client.deviceId}): ${SAID[result]}`;
        output(g, { identity: client.identity, deviceId: client.deviceId, logout: result, refreshToken: refresh }, [
          refresh ? `${said}; ${SAID_REFRESH[refresh]}` : said,
        ]);
      }),
    );
}
