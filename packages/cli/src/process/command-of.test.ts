import { describe, expect, it } from 'vitest';
import { commandOf } from './command-of.js';

const argv = (...args: string[]) => ['node', 'conduit', ...args];

describe('commandOf', () => {
  it('skips global options and the values of those that take one', () => {
    expect(commandOf(argv('stack', 'up'))).toBe('stack');
    expect(commandOf(argv('--json', '--home', 'stack', 'send', 'a.pdf'))).toBe('send');
    expect(commandOf(argv('--server', 'http://x', '--as', 'demo', '-v', 'receive'))).toBe('receive');
    expect(commandOf(argv('--home=/tmp/h', 'demo'))).toBe('demo');
    expect(commandOf(argv('--json'))).toBeUndefined();
  });
});
