import type { Command } from 'commander';
import type { LogoutResult } from '@conduit/client';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';

const SAID: Record<LogoutResult, string> = {
  ended: "this device's sessions are ended at the server",
  provider: "the session was your identity provider's: end it there too (Conduit cannot)",
  none: 'this device had no live session',
};

/** `conduit logout`: ends this device's sessions at the server and forgets the stored one. */
export function addLogoutCommand(program: Command): void {
  program
    .command('logout')
    .description("end this device's sessions at the server (the private key stays; `conduit login` to come back)")
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const result = await client.logout();
        output(g, { identity: client.identity, deviceId: client.deviceId, logout: result }, [
          `logged out ${client.identity} (device ${client.deviceId}): ${SAID[result]}`,
        ]);
      }),
    );
}
