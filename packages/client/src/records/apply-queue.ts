/**
 * Coalesces the replica writes of versions this endpoint wrote: the puts of one batch answer in
 * the same tick, so their versions are applied in one SQLite transaction (one commit) instead of
 * one each, which was the largest client cost of bulk puts. Each caller still learns whether its
 * own version was applied: when the shared transaction fails, each is applied alone.
 */
export class ApplyQueue<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = [];

  constructor(private readonly applyAll: (items: T[]) => void) {}

  /** Resolves once `item` is applied (on the next microtask, with whatever else arrived). */
  apply(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    try {
      this.applyAll(batch.map((p) => p.item));
      for (const p of batch) p.resolve();
    } catch {
      for (const p of batch) {
        try {
          this.applyAll([p.item]);
          p.resolve();
        } catch (err) {
          p.reject(err);
        }
      }
    }
  }
}
