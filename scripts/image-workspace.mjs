#!/usr/bin/env node
/* global process, console */
// Prints the root package.json a package's production image installs from: the repository's own,
// with only that package and the workspace packages it depends on (transitively) as workspaces,
// and no devDependencies or scripts. `npm ci --omit=dev` on it with the repository's unchanged
// package-lock.json installs exactly that package's production tree at the locked versions
// (`npm ci -w <pkg>` would install every workspace's dependencies, devstack and CLI included).
// The Dockerfiles and test/deploy/image-deps.test.ts both use it, so CI checks what images ship.
//
// Usage: node scripts/image-workspace.mjs <package name> [repository root]
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The workspaces an image of `name` needs: the package and every workspace it depends on. */
export function imageWorkspaces(root, name) {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  // A Dockerfile copies in only the workspaces its image needs: the others are not there.
  const present = rootPkg.workspaces.filter((dir) => existsSync(join(root, dir, 'package.json')));
  const byName = new Map(
    present.map((dir) => [JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name, dir]),
  );
  const needed = new Set();
  const visit = (pkgName) => {
    const dir = byName.get(pkgName);
    if (dir === undefined) throw new Error(`${pkgName} is not a workspace of ${root}`);
    if (needed.has(dir)) return;
    needed.add(dir);
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) if (byName.has(dep)) visit(dep);
  };
  visit(name);
  // The root's order, so the result does not depend on the walk.
  return rootPkg.workspaces.filter((dir) => needed.has(dir));
}

export function imageRootPackage(root, name) {
  const {
    devDependencies: _dev,
    scripts: _scripts,
    ...rest
  } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return { ...rest, workspaces: imageWorkspaces(root, name) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [name, root = process.cwd()] = process.argv.slice(2);
  if (!name) {
    console.error('usage: node scripts/image-workspace.mjs <package name> [repository root]');
    process.exit(2);
  }
  console.log(JSON.stringify(imageRootPackage(resolve(root), name), null, 2));
}
