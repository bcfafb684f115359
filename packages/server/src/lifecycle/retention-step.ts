/**
 * One part of a retention run (docs/lifecycle.md): expired files, record history, audit entries,
 * multipart uploads left behind. The retention job runs its steps in order; each finds its own work
 * from durable state (so a run killed anywhere is finished by the next one) and is idempotent.
 */
export interface RetentionStep {
  /** Shown in logs, metrics and the run's audit summary (`files`, `records`, `audit`, `uploads`). */
  readonly name: string;
  run(context: RetentionRunContext): Promise<RetentionStepResult>;
}

export interface RetentionRunContext {
  now: Date;
  /** Aborted when the worker shuts down: stop between batches. */
  signal: AbortSignal;
  /** Waits until `n` more deletions fit the deployment's deletes-per-second budget (all workers). */
  takeDeletes(n: number): Promise<void>;
}

export interface RetentionStepResult {
  deleted: number;
  bytes: number;
  /** Items a legal hold kept, by hold (`<kind>:<id>`). */
  held: Record<string, number>;
  failed: number;
}
