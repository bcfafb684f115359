import { InvalidArgumentError } from 'commander';
import { parseName } from '@conduit/client';

/** setTimeout's ceiling (~24.8 days): "no timeout" in practice. */
export const FOREVER_MS = 2 ** 31 - 1;

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n * 1000 > FOREVER_MS) throw new InvalidArgumentError('expected seconds > 0.');
  return n;
}

/** Commander parser of `--name` / `--device-name`: a bad name is a usage error before anything runs. */
export function nameOption(value: string): string {
  try {
    return parseName(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : 'invalid name.');
  }
}
