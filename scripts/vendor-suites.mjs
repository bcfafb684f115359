#!/usr/bin/env node
/* global process, console, setTimeout, clearTimeout, Buffer */
// Runs the Virgil vendors' own client test suites, unchanged, against a local directory from
// @conduit/devstack (issue 13). They read the service URL and app credentials from the
// environment, so pointing them here needs no patch. Outside CI: it needs the vendors'
// repositories checked out (bare or not) and the npm registry for their dependencies.
// Needs this repository built (`npm run build`).
//
// Usage: node scripts/vendor-suites.mjs [--mirror <dir>] [--only keyknox,sdk,e3kit] [--keep]
//   --mirror  where the repositories are: <dir>/VirgilSecurity+<name>/repo (a git directory), the
//             layout of the session's fetch tool; default /work/.mirror or $VENDOR_MIRROR.
//   --only    a comma-separated subset of the suites.
//   --keep    leave the temp folder (sources, node_modules, full logs) in place.
// Exit status: 0 when every suite ran and passed, 1 otherwise. The summary lists each failure.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createVirgilApp, startVirgilDirectory } from '@conduit/devstack';

/**
 * Each suite: its repository, the folder of its package.json, and the command that runs it.
 * keyknox and sdk run their own test scripts. The e3kit node specs run with three adjustments
 * to their setup (none to a test), because out of their monorepo they install today's packages:
 * - taken alone, so that they install the published e3kit-node (^2.5, what Conduit uses);
 * - virgil-crypto and virgil-sdk pinned to the versions that e3kit-node pins: the specs declare
 *   newer ones (^5, ^6.1), and two copies fail every `instanceof` check between them;
 * - mocha directly with ts-node compiling to CommonJS: their script registers ts-node twice
 *   (ts-mocha and -r ts-node/register), which compiles each file twice, and their tsconfig emits
 *   ES modules, which Node 20 cannot load through require.
 */
const SUITES = {
  keyknox: { repo: 'virgil-keyknox-javascript', tree: '', command: ['npm', 'test'] },
  sdk: { repo: 'virgil-sdk-javascript', tree: '', command: ['npm', 'run', 'test:node'] },
  e3kit: {
    repo: 'virgil-e3kit-js',
    tree: 'packages/e3kit-tests',
    align: { with: '@virgilsecurity/e3kit-node', packages: ['virgil-crypto', 'virgil-sdk'] },
    command: [
      'npx',
      'mocha',
      '-t',
      '0',
      '-r',
      'dotenv/config',
      '-r',
      'ts-node/register',
      '-r',
      './setup-mocha',
      'src/node.spec.ts',
    ],
    env: { TS_NODE_COMPILER_OPTIONS: JSON.stringify({ module: 'commonjs' }) },
  },
};
const SUITE_TIMEOUT_MS = 30 * 60_000;
// --ignore-scripts: the suites run from sources; their prepare scripts would build bundles.
// --legacy-peer-deps: upstream installs with yarn, which does not enforce peer ranges (their
// rollup plugins declare older rollup peers than the rollup they pin).
const NPM_INSTALL = [
  'install',
  '--ignore-scripts',
  '--legacy-peer-deps',
  '--no-audit',
  '--no-fund',
  '--loglevel=error',
];

const { values } = parseArgs({
  options: {
    mirror: { type: 'string', default: process.env.VENDOR_MIRROR ?? '/work/.mirror' },
    only: { type: 'string', default: Object.keys(SUITES).join(',') },
    keep: { type: 'boolean', default: false },
  },
});

/** Runs a command; resolves with its exit code and combined output (also written to `log`). */
function run(cmd, args, { cwd, env, log, timeoutMs = SUITE_TIMEOUT_MS }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      const output = Buffer.concat(chunks).toString('utf8');
      if (log) await writeFile(log, output);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

/** Extracts a folder of HEAD ('' for all) from a git directory (a bare mirror needs no work tree). */
async function extract(gitDir, tree, into) {
  await mkdir(into, { recursive: true });
  const archive = spawn('git', ['--git-dir', gitDir, 'archive', '--format=tar', tree ? `HEAD:${tree}` : 'HEAD'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tar = spawn('tar', ['-x', '-C', into], { stdio: ['pipe', 'inherit', 'inherit'] });
  archive.stdout.pipe(tar.stdin);
  const done = (p) => new Promise((res, rej) => p.on('close', (c) => (c === 0 ? res() : rej(new Error(`exit ${c}`)))));
  await Promise.all([done(archive), done(tar)]);
  const head = await run('git', ['--git-dir', gitDir, 'log', '-1', '--format=%h %cs'], {});
  return head.output.trim();
}

/** Yarn's `workspaces: {nohoist}` (e3kit-tests) is an error to npm, and means nothing outside the monorepo. */
async function dropYarnWorkspaces(file) {
  const pkg = JSON.parse(await readFile(file, 'utf8'));
  if (pkg.workspaces === undefined || Array.isArray(pkg.workspaces)) return;
  delete pkg.workspaces;
  await writeFile(file, JSON.stringify(pkg, null, 2));
}

/** Mocha's spec reporter: the counts, and each numbered failure with its first error line. */
function summarize(output) {
  const count = (word) => Number(output.match(new RegExp(`^\\s*(\\d+) ${word}`, 'm'))?.[1] ?? 0);
  const failingAt = output.search(/^\s*\d+ failing/m);
  const failures = [];
  if (failingAt >= 0) {
    const lines = output.slice(failingAt).split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s{2}\d+\) /.test(lines[i])) continue;
      const title = [lines[i].trim()];
      let j = i + 1;
      // The title runs over indented lines up to the error (`TypeError: …`) or a blank line.
      while (j < lines.length && lines[j].trim() && !/^\s+\w*Error\b/.test(lines[j])) {
        title.push(lines[j++].trim());
      }
      while (j < lines.length && !lines[j].trim()) j++;
      failures.push(`${title.join(' ')} -> ${(lines[j] ?? '').trim().slice(0, 200)}`);
    }
  }
  return { passing: count('passing'), failing: count('failing'), pending: count('pending'), failures };
}

const wanted = values.only.split(',').map((s) => s.trim());
for (const name of wanted)
  if (!(name in SUITES)) throw new Error(`unknown suite ${name}: one of ${Object.keys(SUITES)}`);

const work = await mkdtemp(join(tmpdir(), 'conduit-vendor-suites-'));
const app = await createVirgilApp();
const directory = await startVirgilDirectory(app);
// Every variable name the three suites read (their .env.example files).
const env = {
  ...process.env,
  API_URL: directory.url,
  APP_ID: app.appId,
  API_KEY_ID: app.appKeyId,
  API_KEY: app.appPrivateKey,
  API_KEY_PRIVATE_KEY: app.appPrivateKey,
  APP_KEY_ID: app.appKeyId,
  APP_KEY: app.appPrivateKey,
  // The crypto WASM loaders otherwise see Node's global fetch and try to fetch the .wasm by path.
  NODE_OPTIONS: [process.env.NODE_OPTIONS, '--no-experimental-fetch'].filter(Boolean).join(' '),
};

const results = [];
try {
  for (const name of wanted) {
    const suite = SUITES[name];
    const gitDir = join(values.mirror, `VirgilSecurity+${suite.repo}`, 'repo');
    if (!existsSync(gitDir)) {
      results.push({ name, error: `no repository at ${gitDir}` });
      continue;
    }
    const root = join(work, name);
    const cwd = join(root, 'src');
    const commit = await extract(gitDir, suite.tree, cwd);
    await dropYarnWorkspaces(join(cwd, 'package.json'));
    console.error(`[${name}] ${suite.repo} ${commit}: installing dependencies`);
    const install = await run('npm', NPM_INSTALL, {
      cwd,
      env: process.env,
      log: join(root, 'install.log'),
    });
    if (install.code !== 0) {
      results.push({ name, commit, error: `npm install failed (see ${join(root, 'install.log')})` });
      continue;
    }
    if (suite.align) {
      const pinned = JSON.parse(await readFile(join(cwd, 'node_modules', suite.align.with, 'package.json'), 'utf8'));
      const specs = suite.align.packages.map((p) => `${p}@${pinned.dependencies[p]}`);
      console.error(`[${name}] aligning ${specs.join(' ')} with ${suite.align.with}`);
      const aligned = await run('npm', [...NPM_INSTALL, '--no-save', ...specs], {
        cwd,
        env: process.env,
        log: join(root, 'align.log'),
      });
      if (aligned.code !== 0) {
        results.push({ name, commit, error: `aligning ${specs} failed (see ${join(root, 'align.log')})` });
        continue;
      }
    }
    console.error(`[${name}] running ${suite.command.join(' ')}`);
    const started = Date.now();
    const [cmd, ...args] = suite.command;
    const test = await run(cmd, args, { cwd, env: { ...env, ...suite.env }, log: join(root, 'test.log') });
    results.push({
      name,
      commit,
      code: test.code,
      seconds: Math.round((Date.now() - started) / 1000),
      ...summarize(test.output),
    });
  }
} finally {
  await directory.close();
  if (!values.keep) await rm(work, { recursive: true, force: true });
}

console.log(`Vendor suites against the local directory, ${new Date().toISOString()}, Node ${process.version}`);
for (const r of results) {
  if (r.error) {
    console.log(`- ${r.name}: NOT RUN: ${r.error}`);
    continue;
  }
  console.log(
    `- ${r.name} (${SUITES[r.name].repo} ${r.commit}): ${r.passing} passing, ${r.failing} failing, ${r.pending} pending, exit ${r.code}, ${r.seconds} s`,
  );
  for (const f of r.failures) console.log(`    ${f}`);
}
if (values.keep) console.log(`Sources, node_modules and logs kept in ${work}`);
process.exitCode = results.every((r) => !r.error && r.code === 0) ? 0 : 1;
