/** Global options that take a value (main.ts): their value is not the command. */
const VALUE_OPTIONS = new Set(['--home', '--server', '--as']);

/**
 * The top-level command of `argv` (node, script, ...), skipping the global options: read before
 * the command line is parsed (process/v8-flags.ts). `--home=dir` forms are one argument.
 */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}
