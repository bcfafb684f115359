/**
 * Ctrl-C (SIGINT) and SIGTERM. A command that can stop cleanly (stack stopped, Sync closed,
 * transfer state saved) takes the signal with `interruptSignal()`; before one has, or on a second
 * Ctrl-C, the CLI stops at once. Either way it says how to go on and exits 128 + the signal's
 * number (130 for Ctrl-C), as shells do.
 */
export const INTERRUPTED_MESSAGE = 'interrupted: run the same command again to resume';

const EXIT_BY_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof EXIT_BY_SIGNAL;

export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  readonly exitCode: number;

  constructor(signal: StopSignal = 'SIGINT') {
    super(INTERRUPTED_MESSAGE);
    this.exitCode = EXIT_BY_SIGNAL[signal];
  }
}

let controller: AbortController | undefined;

/** Installed once at start-up. */
export function handleInterrupts(): void {
  const on = (signal: StopSignal) => () => {
    if (controller && !controller.signal.aborted) {
      controller.abort(new Interrupted(signal));
      return;
    }
    process.stderr.write(`${INTERRUPTED_MESSAGE}\n`);
    process.exit(EXIT_BY_SIGNAL[signal]);
  };
  process.on('SIGINT', on('SIGINT'));
  process.on('SIGTERM', on('SIGTERM'));
}

/** Aborted (reason: Interrupted) on the first Ctrl-C / SIGTERM once a command asked for it. */
export function interruptSignal(): AbortSignal {
  controller ??= new AbortController();
  return controller.signal;
}

/**
 * What a command that failed after an interruption really failed with: the interruption, however
 * the layers below reported the abort.
 */
export function afterInterruption(err: unknown): unknown {
  const reason: unknown = controller?.signal.aborted ? controller.signal.reason : undefined;
  return reason instanceof Interrupted ? reason : err;
}
