/** One line of `conduit-server check`: never a secret's value, only names and states. */
export interface CheckResult {
  status: 'ok' | 'warn' | 'fail';
  check: string;
  detail: string;
}

/** `ok|warn|fail <check>: <detail>`, one line per check. */
export const formatResult = (r: CheckResult): string => `${r.status} ${r.check}: ${r.detail}`;
