#!/usr/bin/env node
/* global process, console */
// Proves the SDK installs without the server side (issue 12): packs @conduit/client and the
// workspace packages it needs (none of them is on the registry), installs the tarballs into an
// empty folder the way a user would, and fails if the SDK's production dependency tree reaches a
// forbidden package. Needs the packages built (`npm run build`): packs ship dist/ only.
//
// Usage: node scripts/check-sdk-deps.mjs [--root <repo>] [--keep]
//   --root  the repository to check (default: this one); lets a test check a modified copy.
//   --keep  leave the temp folder in place for inspection.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const SDK = '@conduit/client';
/** What an SDK user must never install: the server side, the local stand-ins, the CLI. */
export const FORBIDDEN = [
  '@conduit/server',
  '@conduit/devstack',
  '@conduit/cli',
  'express',
  'bullmq',
  's3rver',
  'ioredis',
];

const run = promisify(execFile);

export class SdkDepsError extends Error {
  /** @param {'NOT_BUILT' | 'NPM_FAILED'} code */
  constructor(code, message) {
    super(message);
    this.name = 'SdkDepsError';
    this.code = code;
  }
}

/** Child npm runs outside the workspace; drop the npm_* settings an outer `npm test` exports. */
function npmEnv() {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())),
  );
}

async function npm(args, cwd) {
  try {
    return await run('npm', args, { cwd, env: npmEnv(), maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    // `npm ls` exits non-zero on tree problems (e.g. an unmet peer) yet still prints the tree.
    if (args[0] === 'ls' && error.stdout) return { stdout: error.stdout, stderr: error.stderr };
    throw new SdkDepsError('NPM_FAILED', `npm ${args.join(' ')} failed:\n${error.stderr || error.message}`);
  }
}

/** Workspace packages by name, read from the root package.json's `workspaces`. */
async function readWorkspaces(root) {
  const rootManifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const byName = new Map();
  for (const folder of rootManifest.workspaces ?? []) {
    const dir = join(root, folder);
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    byName.set(manifest.name, { dir, manifest });
  }
  return byName;
}

/** The SDK and every workspace package its production dependencies reach. */
function workspaceClosure(workspaces) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    seen.add(name);
    const { manifest } = workspaces.get(name);
    const deps = { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies };
    for (const dep of Object.keys(deps)) if (workspaces.has(dep)) visit(dep);
  };
  visit(SDK);
  return [...seen];
}

function assertBuilt({ dir, manifest }) {
  const entry = manifest.exports?.['.']?.default ?? manifest.main;
  if (!entry || !existsSync(join(dir, entry))) {
    throw new SdkDepsError(
      'NOT_BUILT',
      `${manifest.name} is not built (${entry ?? 'no entry'} missing): run \`npm run build\` first`,
    );
  }
}

/**
 * Every dependency path from the SDK to a forbidden package, e.g.
 * "@conduit/client > @conduit/devstack (brings @conduit/server, express)". `npm ls` prints a package's children once and
 * marks later occurrences deduped, so children are collected by name@version before walking.
 */
export function forbiddenPaths(lsTree, forbidden = FORBIDDEN) {
  const children = new Map();
  const collect = (name, node) => {
    const key = `${name}@${node.version}`;
    const deps = Object.entries(node.dependencies ?? {});
    if (deps.length > 0 || !children.has(key)) children.set(key, deps);
    for (const [childName, child] of deps) collect(childName, child);
  };
  for (const [name, node] of Object.entries(lsTree.dependencies ?? {})) collect(name, node);

  const sdk = lsTree.dependencies?.[SDK];
  if (!sdk) throw new SdkDepsError('NPM_FAILED', `${SDK} is missing from the installed tree`);
  /** The other forbidden packages that come with `key`, so one line tells what removing it saves. */
  const brings = (key) => {
    const found = new Set();
    const seen = new Set([key]);
    const queue = [key];
    while (queue.length > 0) {
      for (const [childName, child] of children.get(queue.shift()) ?? []) {
        const childKey = `${childName}@${child.version}`;
        if (seen.has(childKey)) continue;
        seen.add(childKey);
        queue.push(childKey);
        if (forbidden.includes(childName)) found.add(childName);
      }
    }
    return [...found].sort();
  };
  const paths = [];
  const walk = (name, node, path, onPath) => {
    const key = `${name}@${node.version}`;
    const here = [...path, name];
    // A path stops at its first forbidden package; the ones below it are named after it.
    if (forbidden.includes(name)) {
      const below = brings(key);
      return void paths.push(here.join(' > ') + (below.length > 0 ? ` (brings ${below.join(', ')})` : ''));
    }
    if (onPath.has(key)) return;
    onPath.add(key);
    for (const [childName, child] of children.get(key) ?? []) walk(childName, child, here, onPath);
    onPath.delete(key);
  };
  walk(SDK, sdk, [], new Set());
  return [...new Set(paths)].sort();
}

/** Distinct name@version pairs in an `npm ls --json` tree (the SDK's packages included). */
function countPackages(tree) {
  const seen = new Set();
  const walk = (deps = {}) => {
    for (const [name, dep] of Object.entries(deps)) {
      const id = `${name}@${dep.version}`;
      if (seen.has(id)) continue;
      seen.add(id);
      walk(dep.dependencies);
    }
  };
  walk(tree.dependencies);
  return seen.size;
}

/** Bytes of the regular files under `dir` (what an install of the SDK puts on disk). */
async function treeBytes(dir) {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
}

/** Packs, installs and inspects; returns the offending paths (empty when the SDK is clean). */
export async function checkSdkDeps({ root, keep = false }) {
  const workspaces = await readWorkspaces(root);
  const packed = workspaceClosure(workspaces);
  for (const name of packed) assertBuilt(workspaces.get(name));

  const temp = await mkdtemp(join(tmpdir(), 'conduit-sdk-deps-'));
  try {
    const tarballs = [];
    for (const name of packed) {
      const { stdout } = await npm(
        ['pack', workspaces.get(name).dir, '--json', '--ignore-scripts', '--pack-destination', temp],
        temp,
      );
      tarballs.push(join(temp, JSON.parse(stdout)[0].filename));
    }
    const project = join(temp, 'project');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'sdk-deps-probe', private: true }));
    await npm(['install', ...tarballs, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], project);
    const { stdout } = await npm(['ls', '--all', '--omit=dev', '--json'], project);
    const tree = JSON.parse(stdout);
    const size = { packages: countPackages(tree), bytes: await treeBytes(join(project, 'node_modules')) };
    return { packed, paths: forbiddenPaths(tree), size, temp };
  } finally {
    if (!keep) await rm(temp, { recursive: true, force: true });
  }
}

async function main() {
  const { values } = parseArgs({ options: { root: { type: 'string' }, keep: { type: 'boolean' } } });
  const root = resolve(values.root ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const { packed, paths, size, temp } = await checkSdkDeps({ root, keep: values.keep ?? false });
  if (values.keep) console.log(`kept ${temp}`);
  if (paths.length > 0) {
    console.error(`${SDK}'s production dependencies reach forbidden packages (${FORBIDDEN.join(', ')}):`);
    for (const path of paths) console.error(`  ${path}`);
    process.exitCode = 1;
    return;
  }
  console.log(`${SDK} is clean: packed ${packed.join(', ')}; none of ${FORBIDDEN.join(', ')} installed.`);
  console.log(`${SDK} installs ${size.packages} packages, ${(size.bytes / 2 ** 20).toFixed(1)} MiB.`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof SdkDepsError ? `${error.code}: ${error.message}` : error);
    process.exitCode = 2;
  });
}
