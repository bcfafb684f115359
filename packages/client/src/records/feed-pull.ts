/** How often a watching client pulls the feed even without a notification (a lost one, a TTL). */
export const SAFETY_POLL_MS = 30_000;

/**
 * Pulls the group's feed when told it moved: single-flight, and a request arriving during a pull
 * causes exactly one more pull afterwards (that pull sees everything up to the request). While
 * watched it also pulls every SAFETY_POLL_MS.
 */
export class FeedPuller {
  private pulling: Promise<void> | undefined;
  private again = false;
  private poll: ReturnType<typeof setInterval> | undefined;
  private watchers = 0;

  constructor(
    private readonly catchUp: () => Promise<unknown>,
    private readonly log: (line: string) => void,
    private readonly pollMs = SAFETY_POLL_MS,
  ) {}

  /** Asks for a pull (coalesced with the running one). Resolves when the pull that covers it ends. */
  request(): Promise<void> {
    if (this.pulling) {
      this.again = true;
      return this.pulling;
    }
    // Started on the next microtask, so `pulling` is set before the loop can end.
    this.pulling = Promise.resolve().then(() => this.loop());
    return this.pulling;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.catchUp();
      } catch (err) {
        this.log(`catch-up failed: ${(err as { code?: string }).code ?? 'error'}`);
      }
    } while (this.again);
    // No await between the last check and this: a request is either seen above or starts a new pull.
    this.pulling = undefined;
  }

  /** Starts the safety poll for one more watcher; returns the function that ends it. */
  watch(): () => void {
    this.watchers += 1;
    if (this.watchers === 1) {
      this.poll = setInterval(() => void this.request(), this.pollMs);
      this.poll.unref?.();
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.watchers -= 1;
      if (this.watchers === 0) clearInterval(this.poll);
    };
  }
}
