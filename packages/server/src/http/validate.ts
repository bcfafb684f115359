import { ConduitError } from '@conduit/shared';
import { z } from 'zod';

/**
 * Parses untrusted input. Failures become VALIDATION_FAILED with per-field messages; zod's
 * messages name fields and rules, never the offending values.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({
    where,
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  throw new ConduitError('VALIDATION_FAILED', `Invalid ${where}.`, details);
}

/**
 * Sends a response after checking it against its published schema: a server bug that would break
 * the contract becomes a logged 500 instead of a client-side surprise.
 */
export function reply<S extends z.ZodType>(
  res: { status(code: number): { json(body: unknown): unknown } },
  status: number,
  schema: S,
  body: z.input<S>,
): void {
  const checked = schema.safeParse(body);
  if (!checked.success) throw new Error(`Response violates its schema: ${checked.error.message}`);
  res.status(status).json(checked.data);
}
