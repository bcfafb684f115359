import { ConduitError, identityFromSubject } from '@conduit/shared';
import type { Command } from 'commander';
import { nameThisDevice } from '../names/shown.js';
import { deviceLogin, type DeviceLoginPrompt } from '../oidc/device-login.js';
import { discoverIssuer } from '../oidc/issuer.js';
import { interruptSignal } from '../process/interrupt.js';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';
import { readPassword } from '../prompt/password.js';
import { ENV, oidcSettings, type GlobalOptions } from '../settings/config.js';

/**
 * `conduit login --oidc` (or `conduit login` with CONDUIT_OIDC_ISSUER set): a device login at the
 * identity provider, then this device's enrollment and private key under the key passphrase; the
 * refresh token is kept in the encrypted key store for the next commands (docs/identity.md).
 */
export async function loginWithProvider(cmd: Command, deviceName: string | undefined): Promise<void> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const settings = oidcSettings(g);
  if (!settings) {
    throw new ConduitError('CONFIG', `login --oidc needs ${ENV.oidcIssuer} and ${ENV.oidcClientId}.`);
  }
  const config = await discoverIssuer(settings);
  const tokens = await deviceLogin(config, settings.scope, showPrompt, interruptSignal());
  const identity = identityFromSubject(tokens.subject);
  if (g.as !== undefined && g.as !== identity) {
    throw new ConduitError(
      'CONFIG',
      `Signed in as ${identity} at the identity provider, not ${g.as}: nothing was changed.`,
    );
  }
  await withClient(
    cmd,
    async (client) => {
      await client.loginWithProvider(await readPassword({ confirm: false, label: 'Key passphrase' }));
      await client.saveRefreshToken(tokens.refreshToken);
      await nameThisDevice(client, deviceName);
      output(g, { identity: client.identity, subject: tokens.subject, deviceId: client.deviceId }, [
        `logged in as ${client.identity} (subject ${tokens.subject}, device ${client.deviceId})`,
      ]);
    },
    { identity, idToken: tokens.idToken },
  );
}

/** On stderr whatever the output mode: stdout stays the command's result. */
function showPrompt(prompt: DeviceLoginPrompt): void {
  const lines = [`To sign in, open ${prompt.verificationUri} and enter the code ${prompt.userCode}`];
  if (prompt.verificationUriComplete) lines.push(`  or open ${prompt.verificationUriComplete}`);
  lines.push(`Waiting for the approval (the code expires in ${Math.ceil(prompt.expiresInSeconds / 60)} min)...`);
  process.stderr.write(`${lines.join('\n')}\n`);
}
