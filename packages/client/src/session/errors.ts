import { ConduitError } from '@conduit/shared';

/** Anything a pointer's handling can throw, as a typed error (file system errors keep their errno code). */
export function asConduitError(err: unknown): ConduitError {
  if (err instanceof ConduitError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return new ConduitError('CONFIG', `Could not write the file (${code}).`);
  return new ConduitError('INTERNAL', 'Receiving a pointer failed unexpectedly.');
}

/** A caller's id checked against its schema; VALIDATION_FAILED naming `what` otherwise. */
export function parseId<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  value: string,
  what: string,
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConduitError('VALIDATION_FAILED', `Invalid ${what}.`);
  return parsed.data;
}
