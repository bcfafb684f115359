import { ConduitError } from '@conduit/shared';
import { describe, expect, it } from 'vitest';
import { asDependencyOutage } from './dependency-outage.js';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });
const named = (name: string, message = name) => Object.assign(new Error(message), { name });

describe('asDependencyOutage', () => {
  it.each([
    ['ioredis: closed connection', new Error('Connection is closed.')],
    ['ioredis: retries per request used up', named('MaxRetriesPerRequestError', 'Reached the max retries')],
    ['ioredis: command timeout', new Error('Command timed out')],
    ['ioredis: Redis loading its AOF', new Error('LOADING Redis is loading the dataset in memory')],
    ['a refused connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6379')],
    ['a reset connection', withCode('ECONNRESET')],
    ['the S3 SDK timing out', named('TimeoutError', 'Connection timed out after 5000 ms')],
    ['fetch wrapping a socket error', new TypeError('fetch failed', { cause: withCode('UND_ERR_SOCKET') })],
    ['happy eyeballs', Object.assign(new AggregateError([withCode('ECONNREFUSED')]), { code: undefined })],
    ['a DNS failure deep in causes', new Error('a', { cause: new Error('b', { cause: withCode('EAI_AGAIN') }) })],
  ])('%s becomes DEPENDENCY_UNAVAILABLE', (_what, err) => {
    const mapped = asDependencyOutage(err);
    expect(mapped?.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(mapped?.status).toBe(503);
  });

  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a Redis script error', new Error('ERR Error running script')],
    ['a typed error (mapped by its own code)', new ConduitError('FORBIDDEN')],
    ['not an object', 'ECONNREFUSED'],
  ])('%s is left alone', (_what, err) => {
    expect(asDependencyOutage(err)).toBeNull();
  });
});
