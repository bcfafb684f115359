#!/usr/bin/env node
/**
 * `conduit`: the command line of the Conduit client. Results go to stdout (JSON with --json),
 * problems to stderr as `error CODE: message` plus a hint. Exit codes are listed in output/errors.ts
 * (0 ok, 1 internal, 2 usage/config, 3 auth, 4 not found/exists, 5 integrity, 6 unavailable,
 * 7 timeout, 8 demo check failed).
 */
// First: sets V8 flags before the other modules load, and the umask before anything is written.
import './process/v8-flags.js';
import './process/private-umask.js';
import { Command, CommanderError } from 'commander';
import { addAuditCommand } from './commands/audit.js';
import { addCleanCommand } from './commands/clean.js';
import { addDemoCommand } from './commands/demo.js';
import { addDeviceCommands } from './commands/device.js';
import { addGroupCommands } from './commands/group.js';
import { addIdentityCommands } from './commands/identity.js';
import { addLoginCommand } from './commands/login.js';
import { addLogoutCommand } from './commands/logout.js';
import { addProfileCommands } from './commands/profile.js';
import { addReceiveCommand } from './commands/receive.js';
import { addReceivedCommand } from './commands/received.js';
import { addRecordCommands } from './commands/record.js';
import { addRegisterCommand } from './commands/register.js';
import { addSendCommand } from './commands/send.js';
import { addStackCommand } from './commands/stack.js';
import { addRmCommand } from './commands/rm.js';
import { addStatusCommand } from './commands/status.js';
import { addTrustCommand } from './commands/trust.js';
import { addVerifyCommand } from './commands/verify.js';
import { addWhoamiCommand } from './commands/whoami.js';
import { describeFailure, EXIT, printFailure } from './output/errors.js';
import { afterInterruption, handleInterrupts } from './process/interrupt.js';
import { ENV } from './settings/config.js';
import { CLI_VERSION } from './settings/version.js';

/** The commands, in the order `--help` lists them. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  addRegisterCommand,
  addLoginCommand,
  addLogoutCommand,
  addIdentityCommands,
  addDeviceCommands,
  addGroupCommands,
  addRecordCommands,
  addSendCommand,
  addReceiveCommand,
  addStatusCommand,
  addRmCommand,
  addAuditCommand,
  addStackCommand,
  addDemoCommand,
  addVerifyCommand,
  addTrustCommand,
  addReceivedCommand,
  addWhoamiCommand,
  addProfileCommands,
  addCleanCommand,
];

function buildProgram(): Command {
  const program = new Command()
    .name('conduit')
    .description('End-to-end encrypted file sharing: files are encrypted on this device, for the group only.')
    .option('--home <dir>', `local state directory (env ${ENV.home}, default ~/.conduit)`)
    .option('--server <url>', `Conduit server URL (env ${ENV.server})`)
    .option('--as <identity>', `identity to act as (env ${ENV.identity})`)
    .option('--profile <name>', `connection settings saved with \`conduit profile add\` (env ${ENV.profile})`)
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'diagnostics on stderr')
    .option('-q, --quiet', 'no progress or notices on stderr (results, warnings and errors still print)')
    .version(CLI_VERSION, '-V, --version', 'print the version')
    .addHelpText(
      'after',
      `
Environment: ${ENV.password} (password; otherwise prompted on a terminal), ${ENV.virgilApiUrl},
${ENV.virgilServiceKey}, ${ENV.twilsockUri} (connection settings; \`conduit stack up\` prints them),
${ENV.debug}=1 (stack traces of unexpected errors).`,
    )
    .exitOverride()
    .showHelpAfterError();
  for (const add of COMMANDS) add(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the message (or the help) already.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const failure = describeFailure(afterInterruption(err));
    printFailure(failure, argv.includes('--json'));
    if (process.env[ENV.debug] === '1' && failure.code === 'INTERNAL') console.error(err);
    return failure.exitCode;
  }
}

// The WASM crypto loader and Sync sockets can keep the loop alive: exit explicitly when done.
handleInterrupts();
process.exit(await main(process.argv));
