/**
 * Loads something that must be at least as fresh as the request for it (the group key: a member
 * removed before a write started must not be able to read it), sharing loads between concurrent
 * callers: at most one load runs, and callers that arrive meanwhile share the next one, which
 * starts after all of them did.
 */
export class FreshLoader<T> {
  private running: Promise<T> | undefined;
  private queued: Promise<T> | undefined;

  constructor(private readonly load: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.running) return this.start();
    this.queued ??= this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.queued;
  }

  private start(): Promise<T> {
    this.queued = undefined;
    const run = this.load();
    this.running = run;
    const done = () => {
      if (this.running === run) this.running = undefined;
    };
    run.then(done, done);
    return run;
  }
}
