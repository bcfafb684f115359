import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites start real servers on free ports; two cores run two files at a time comfortably.
    maxWorkers: 2,
    // e3kit's WASM loader installs process-wide handlers: keep each file in its own process.
    pool: 'forks',
  },
});
