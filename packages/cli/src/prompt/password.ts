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
  const password = await prompt(`${label}: `);
  if (opts.confirm && (await prompt(`Repeat ${label.toLowerCase()}: `)) !== password) {
    throw new ConduitError('PASSWORD_MISMATCH', `The two ${label.toLowerCase()}s typed do not match.`);
  }
  return password;
}

/** Reads one line from the terminal in raw mode, echoing nothing. */
function prompt(question: string): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the question shows: a reply typed the moment it appears is never echoed.
  stdin.setRawMode(true);
  // However the process ends while asking, the terminal gets its echo back.
  const restore = () => stdin.setRawMode(false);
  process.once('exit', restore);
  process.stderr.write(question);
  stdin.resume();
  stdin.setEncoding('utf8');
  let input = '';
  return new Promise<string>((resolve, reject) => {
    const finish = (result: Error | string) => {
      stdin.off('data', onData);
      process.off('exit', restore);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (typeof result === 'string') resolve(result);
      else reject(result);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(input);
        // Raw mode turns Ctrl-C into a character rather than SIGINT.
        if (ch === '\u0003') return finish(new Interrupted());
        if (ch === '\u007f' || ch === '\b') input = [...input].slice(0, -1).join('');
        else if (ch >= ' ') input += ch;
      }
    };
    stdin.on('data', onData);
  });
}
