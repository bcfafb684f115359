import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// A package subpath into sources or builds, or a relative path into a build, bypasses the package's
// public entry point (import-x/no-relative-packages below sees dist/ only once it is built, and lint
// runs before the build in CI). Shared by every no-restricted-imports setting, which replace each other.
const PACKAGE_BOUNDARY = [
  {
    regex: '^@conduit/[^/]+/(src|dist)(/|$)',
    message: "Import the package's public entry point ('@conduit/<pkg>'), not a file inside it.",
  },
  {
    regex: '^\\.\\.?/(.+/)?dist(/|$)',
    message: "Import the package's public entry point ('@conduit/<pkg>'), not its build output.",
  },
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.conduit/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Architecture rules (issue 12): packages meet only at their declared `exports`, and no module
  // graph has a cycle. Both need to resolve TypeScript's `./x.js` specifiers to `./x.ts` sources.
  {
    plugins: { 'import-x': importX },
    settings: {
      // Parse .ts dependencies too (the default follows .js only, which would hide every cycle).
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Walk sources only: other packages' builds (dist, absent before `tsc -b`) and installed
      // libraries cannot close a cycle through our code (tsc -b already rejects circular references).
      'import-x/ignore': ['/node_modules/', '/dist/'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.tests.json' })],
    },
    rules: {
      // A relative path into another workspace package (test/ → packages/client/src, server → devstack/src)
      // bypasses that package's public entry point.
      'import-x/no-relative-packages': 'error',
      // ...and so does a package subpath or a relative path into a build (PACKAGE_BOUNDARY).
      'no-restricted-imports': [
        'error',
        {
          patterns: [...PACKAGE_BOUNDARY],
        },
      ],
      // Type-only imports are erased at build time, so the rule ignores them; value cycles are what
      // make module initialisation order fragile.
      'import-x/no-cycle': 'error',
      // Under verbatimModuleSyntax `import { type A } from './a.js'` still loads a.js at run time, yet
      // no-cycle skips it as type-only: require `import type` so that what it skips is truly erased.
      '@typescript-eslint/no-import-type-side-effects': 'error',
    },
  },
  // The SDK's core stays runtime-neutral (issue 12): what needs Node (files, node:crypto, sockets)
  // sits behind the ports of packages/client/src/platform, implemented under platform/node.
  {
    files: ['packages/client/src/**/*.ts'],
    ignores: [
      'packages/client/src/platform/**',
      'packages/client/src/**/*.test.ts',
      'packages/client/src/**/*.fixture.ts',
      // Still on node:crypto (to move behind a port): synchronous hashes and HKDF, which WebCrypto
      // offers only asynchronously.
      'packages/client/src/records/record-id.ts',
      'packages/client/src/trust/safety-number.ts',
      'packages/client/src/auth/passwords.ts',
      'packages/client/src/auth/opaque-client.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...PACKAGE_BOUNDARY,
            {
              regex: '^node:',
              message:
                'The SDK core does not use Node built-ins: put this behind a port in platform/ (Node side: platform/node/).',
            },
          ],
        },
      ],
    },
  },
);
