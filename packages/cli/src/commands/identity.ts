import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ConduitError } from '@conduit/shared';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';
import { readPassword } from '../prompt/password.js';
import { oidcSettings } from '../settings/config.js';

/** The new password of `identity change-password` in scripts (otherwise prompted). */
const ENV_NEW_PASSWORD = 'CONDUIT_NEW_PASSWORD';

/** `conduit identity backup | restore | rotate | change-password | unregister | delete`. */
export function addIdentityCommands(program: Command): void {
  const identity = program
    .command('identity')
    .description('the private key of this identity: backup, restore, rotation, password, unregistering');
  identity
    .command('backup')
    .description('back the private key up under the password (register does it already)')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const result = await client.backupKey(await readPassword({ confirm: false }));
        output(g, { identity: client.identity, backup: result }, [
          result === 'created' ? 'private key backed up' : 'a backup exists already; nothing changed',
        ]);
      }),
    );
  identity
    .command('restore')
    .description("replace this device's private key with the one in the password backup")
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.restoreKey(await readPassword({ confirm: false }));
        output(g, { identity: client.identity, deviceId: client.deviceId, restored: true }, [
          `private key of ${client.identity} restored from the backup on device ${client.deviceId}`,
        ]);
      }),
    );
  identity
    .command('rotate')
    .description('replace a lost or compromised private key with a new one (group owners must re-add you)')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        await client.rotateKey(await readPassword({ confirm: false }));
        output(g, { identity: client.identity, rotated: true }, [
          `new private key for ${client.identity}, backed up under the password`,
          'next: ask the owner of each of your groups to run `conduit group readd <groupId> ' +
            `${client.identity}\`, and run \`conduit identity restore\` on your other devices`,
        ]);
      }),
    );
  identity
    .command('change-password')
    .description('change the password (key backup, server login and this device’s key store)')
    .action(async (_opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const old = await readPassword({ confirm: false });
        const next = await readPassword({ confirm: true, env: ENV_NEW_PASSWORD, label: 'New password' });
        await client.changePassword(old, next);
        output(g, { identity: client.identity, changed: true }, [
          'password changed; other devices unlock with the new one at their next login',
        ]);
      }),
    );
  identity
    .command('unregister')
    .option('--yes', 'confirm: this cannot be undone')
    .description('delete the key backup, revoke the public key, remove this device and wipe local state')
    .action(async (opts: { yes?: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        if (!opts.yes) {
          throw new ConduitError(
            'VALIDATION_FAILED',
            'Unregistering deletes the private key and its backup: files shared with you become unreadable. Re-run with --yes.',
          );
        }
        const who = client.identity;
        await client.unregister(await readPassword({ confirm: false }));
        output(g, { identity: who, unregistered: true }, [`${who} unregistered; local state wiped`]);
      }),
    );
  identity
    .command('delete')
    .option('--yes', 'do not ask (required without a terminal)')
    .option('--with-groups', 'delete the groups this identity owns too (their members lose them)')
    .description('delete this identity for good: account, devices, memberships, key and backup (docs/lifecycle.md)')
    .action(async (opts: { yes?: boolean; withGroups?: boolean }, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const who = client.identity;
        await confirmDeletion(who, opts.yes === true);
        const password = oidcSettings(g) ? undefined : await readPassword({ confirm: false });
        const report = await client.deleteIdentity(password, opts.withGroups ? { withGroups: true } : {});
        output(g, report, [
          `${who} deleted: ${report.devices} device(s) revoked, left ${report.groupsLeft} group(s), ` +
            `deleted ${report.groupsDeleted} group(s) and ${report.objectsDeleted} stored file(s); local state wiped`,
        ]);
      }),
    );
}

/** On a terminal the identity's name must be typed; elsewhere --yes is the confirmation. */
async function confirmDeletion(identity: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new ConduitError('VALIDATION_FAILED', 'Deleting an identity cannot be undone: re-run with --yes.');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const typed = await rl.question(
      `This deletes ${identity} for good: its account, devices, memberships, private key and backup.\n` +
        `Type the identity's name to confirm: `,
    );
    if (typed.trim() !== identity) throw new ConduitError('VALIDATION_FAILED', 'Not confirmed: nothing was deleted.');
  } finally {
    rl.close();
  }
}
