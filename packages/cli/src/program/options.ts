import { InvalidArgumentError } from 'commander';
import { parseName } from '@conduit/client';
import { FilesRetentionText, RecordsRetentionText } from '@conduit/shared';

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

/** Commander parsers of `--files` / `--records` retention rules: a bad rule is a usage error before anything runs. */
export const filesRuleOption = (value: string): string => ruleOption(FilesRetentionText, value, RULE_FORMS.files);
export const recordsRuleOption = (value: string): string => ruleOption(RecordsRetentionText, value, RULE_FORMS.records);

const RULE_FORMS = { files: 'keep, <n>h|d|y or delivered+<n>h|d|y', records: 'keep or <n>h|d|y' } as const;

function ruleOption(schema: typeof FilesRetentionText, value: string, forms: string): string {
  if (!schema.safeParse(value).success) throw new InvalidArgumentError(`expected ${forms} (e.g. 30d, 6y).`);
  return value;
}
