import type { Command } from 'commander';
import { interruptSignal } from '../process/interrupt.js';
import { loadDevstack } from '../program/devstack.js';
import { positiveInt } from '../program/options.js';
import type { GlobalOptions } from '../settings/config.js';

/** `conduit demo`: the end-to-end demo of @conduit/devstack on a throwaway local stack. */
export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .option('--size <KiB>', 'size of the demo file in KiB', positiveInt, 256)
    .option('--keep', 'keep the temporary directory for inspection')
    .option('--oidc', 'sign in at a local OpenID Provider with device codes (auth0|abc sends jane@example.org)')
    .description('end-to-end demo on a throwaway local stack: alice sends bob a file, everything verified')
    .action(async (opts: { size: number; keep?: boolean; oidc?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      // Taken before the devstack loads: Ctrl-C from here on stops it cleanly.
      const signal = interruptSignal();
      const { runDemo } = await loadDevstack();
      const steps = await runDemo({
        sizeKiB: opts.size,
        keep: opts.keep ?? false,
        print: (line) => (g.json ? undefined : console.log(line)),
        log: g.verbose ? (line) => console.error(line) : undefined,
        signal,
        oidcSignIn: opts.oidc ? (await import('../oidc/demo-sign-in.js')).demoSignIn : undefined,
      });
      if (g.json) console.log(JSON.stringify({ ok: true, steps }));
    });
}
