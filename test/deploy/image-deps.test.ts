import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// Issue 15: the server image used to ship every workspace's dependencies (devstack, CLI, SDK, test
// tools) and, through virgil-sdk, a bundler. This runs the Dockerfile's own install stage (its
// COPY and RUN lines, outside Docker: base images cannot be pulled here) in an empty folder,
// assembles the final stage's files, starts the server from them, and checks the package list.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** What no production image may hold: other workspaces, the local stand-ins, client-side, test and build tools. */
const FORBIDDEN = [
  '@conduit/client',
  '@conduit/cli',
  '@conduit/devstack',
  '@conduit/test',
  's3rver',
  'better-sqlite3',
  'twilio-sync',
  '@virgilsecurity/e3kit-node',
  'virgil-sdk',
  'webpack',
  'terser',
  'esbuild',
  'rollup',
  'typescript',
  'vitest',
  'eslint',
  'prettier',
];

const IMAGES = [
  { name: '@conduit/server', dockerfile: 'packages/server/Dockerfile', smoke: ['admin', 'opaque-setup'] },
];

interface Stage {
  name: string;
  /** [from stage or undefined, source, destination] */
  copies: [string | undefined, string, string][];
  runs: string[];
}

/** The stages of a Dockerfile with their COPY and RUN instructions (continuation lines joined). */
function stages(dockerfile: string): Stage[] {
  const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n');
  const result: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM \S+(?: AS (\S+))?/i.exec(line);
    if (from) result.push({ name: from[1] ?? 'final', copies: [], runs: [] });
    const copy = /^COPY (?:--from=(\S+) )?(.+)$/.exec(line);
    if (copy) {
      const args = copy[2]!.split(/\s+/);
      const dest = args.pop()!;
      for (const src of args) result.at(-1)!.copies.push([copy[1], src, dest]);
    }
    const runLine = /^RUN (.+)$/.exec(line);
    if (runLine) result.at(-1)!.runs.push(runLine[1]!);
  }
  return result;
}

/** Every installed package (nested ones too) with its folder. */
async function installed(nodeModules: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.name.startsWith('.')) continue;
      if (entry.name.startsWith('@') && entry.isDirectory()) {
        for (const scoped of await readdir(join(dir, entry.name), { withFileTypes: true })) {
          await visit(join(dir, entry.name, scoped.name), `${entry.name}/${scoped.name}`, scoped.isSymbolicLink());
        }
      } else await visit(join(dir, entry.name), entry.name, entry.isSymbolicLink());
    }
  };
  const visit = async (path: string, name: string, link: boolean) => {
    found.set(name, [...(found.get(name) ?? []), path]);
    if (!link) await walk(join(path, 'node_modules'));
  };
  await walk(nodeModules);
  return found;
}

async function bytesUnder(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (!entry.isSymbolicLink()) total += await bytesUnder(join(path, entry.name));
  }
  return total;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe.each(IMAGES)('$name production image', ({ name, dockerfile, smoke }) => {
  it(
    'installs only what the package needs, and the server starts from it',
    async () => {
      const work = await mkdtemp(join(tmpdir(), 'conduit-image-'));
      dirs.push(work);
      const all = stages(await readFile(join(ROOT, dockerfile), 'utf8'));
      const deps = all.find((s) => s.name === 'deps');
      const final = all.at(-1)!;
      expect(deps, `${dockerfile} has a deps stage`).toBeDefined();
      // Stage "deps" as Docker runs it: WORKDIR /app is `app`, sources from the repository.
      const app = join(work, 'app');
      for (const [, src, dest] of deps!.copies) {
        const to = dest.endsWith('/') ? join(app, dest, src.split('/').at(-1)!) : join(app, dest);
        await mkdir(dirname(to), { recursive: true });
        await cp(join(ROOT, src), to, { recursive: true });
      }
      // The machine's npm cache may answer (same packages, same integrity); the install is the Dockerfile's.
      const env = { ...process.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
      for (const command of deps!.runs) await run('sh', ['-c', command], { cwd: app, env, maxBuffer: 1 << 24 });

      // The final stage: what it copies from deps comes from `app`, from build out of the
      // repository (which `npm test` has built).
      const image = join(work, 'image');
      for (const [from, src, dest] of final.copies) {
        const base = from === 'deps' ? app : ROOT;
        await mkdir(dirname(join(image, dest)), { recursive: true });
        await cp(join(base, src.replace(/^\/app\//, '')), join(image, dest.replace(/^\.\//, '')), {
          recursive: true,
          verbatimSymlinks: true,
        });
      }
      const { stdout } = await run(process.execPath, ['packages/server/dist/main.js', ...smoke], {
        cwd: image,
        env: { PATH: process.env.PATH, NODE_ENV: 'production' },
      });
      expect(stdout.trim()).toMatch(/^[A-Za-z0-9_-]{64,}={0,2}$/);

      const packages = await installed(join(image, 'node_modules'));
      const present = FORBIDDEN.filter((p) => packages.has(p));
      expect(present, `forbidden packages in the ${name} image: ${present.join(', ')}`).toEqual([]);
      // The image's workspace links point only at packages the image holds.
      expect([...packages.keys()].filter((p) => p.startsWith('@conduit/')).sort()).toEqual([
        '@conduit/server',
        '@conduit/shared',
      ]);

      const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { dev?: boolean; link?: boolean }>;
      };
      const workspaceWide = Object.entries(lock.packages).filter(
        ([path, p]) => path.includes('node_modules/') && !p.dev && !p.link,
      ).length;
      const count = [...packages.values()].flat().length;
      const mib = (await bytesUnder(join(image, 'node_modules'))) / 2 ** 20;
      console.log(
        `${name} image: ${count} packages, ${mib.toFixed(1)} MiB in node_modules ` +
          `(every workspace's production tree: ${workspaceWide} packages)`,
      );
      expect(count).toBeLessThan(workspaceWide);
    },
    // A cold install of the server's tree takes a minute or more on a loaded 2-core machine.
    240_000,
  );
});
