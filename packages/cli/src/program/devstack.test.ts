import { describe, expect, it } from 'vitest';
import { describeFailure } from '../output/errors.js';
import { loadDevstack } from './devstack.js';

// `stack up` and `demo` load the optional @conduit/devstack on demand; without it they say what to install.
describe('loadDevstack', () => {
  it('loads the installed devstack', async () => {
    const devstack = await loadDevstack();
    expect(typeof devstack.runStack).toBe('function');
    expect(typeof devstack.runDemo).toBe('function');
  });

  it('without the package: CONFIG with a hint to install it', async () => {
    const notFound = Object.assign(new Error("Cannot find package '@conduit/devstack' imported from main.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const err = await loadDevstack(() => Promise.reject(notFound)).catch((e: unknown) => e);
    expect(describeFailure(err)).toMatchObject({ code: 'CONFIG', exitCode: 2 });
    expect(describeFailure(err).hint).toContain('install @conduit/devstack');
  });

  it('passes other failures through', async () => {
    const broken = Object.assign(new Error("Cannot find package 'ioredis'"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadDevstack(() => Promise.reject(broken))).rejects.toBe(broken);
  });
});
