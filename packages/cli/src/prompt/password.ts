import { ConduitError } from '@conduit/shared';
import { Interrupted } from '../process/interrupt.js';

/**
 * The password comes from CONDUIT_PASSWORD (scripts, CI) or a no-echo prompt on a terminal.
 * It is never taken from the command line, where it would land in shell history and `ps`.
 */
export async function readPassword(opts: {
  confirm: boolean;
  /** Environment variable and prompt (default CONDUIT_PASSWORD, "Password"). */
  env?: string;
  label?: string;
}): Promise<string> {
  const env = opts.env ?? 'CONDUIT_PASSWORD';
  const label = opts.label ?? 'Password';
  const fromEnv = process.env[env];
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new ConduitError('CONFIG', `No password: set ${env}, or run in a terminal to be prompted.`);
  }
  const typed = await prompt(label);
  if (opts.confirm && (await prompt(`Repeat ${label.toLowerCase()}`)) !== typed) {
    throw new ConduitError('PASSWORD_MISMATCH', `The two ${label.toLowerCase()}s typed do not match.`);
  }
  return typed;
}

/**
 * A no-echo prompt on the terminal (@inquirer/password: raw-mode key handling, escape sequences
 * and editing keys included), asked on stderr so stdout stays the command's result. Ctrl-C in raw
 * mode is a key, not SIGINT: the library's ExitPromptError becomes the CLI's Interrupted (exit 130).
 */
async function prompt(message: string): Promise<string> {
  try {
    // No echo, no mask characters (they would tell the length), no "show password" key.
    const theme = { prefix: '', style: { keysHelpTip: () => undefined } };
    // Loaded when a prompt is due: every command imports this module, few of them prompt.
    const { default: password } = await import('@inquirer/password');
    return await password(
      { message, mask: false, toggleMask: false, theme },
      { input: process.stdin, output: process.stderr },
    );
  } catch (err) {
    if (err instanceof Error && err.name === 'ExitPromptError') throw new Interrupted();
    throw err;
  }
}
