import { existsSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

// Container images cannot be pulled here, so the compose file is checked statically: against the
// Compose Specification's own JSON schema (vendored, see README.md), then against the rules the
// deployment promises (docs/deploy.md). A rule broken names the service and what is missing.
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  user?: string;
  read_only?: boolean;
  restart?: string;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  env_file?: string | string[];
  environment?: Record<string, string | number | null>;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  cap_drop?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
}

const raw = read('docker-compose.yml');
// Compose resolves YAML anchors and merge keys (`<<: *conduit-server`) before anything else.
const compose = parse(raw, { merge: true }) as ComposeFile;
const services = Object.entries(compose.services);
const service = (name: string) => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no ${name} service`);
  return found;
};

/** `${NAME}`, `${NAME:-default}`, `${NAME:?error}` references (`$$` is a literal dollar). */
const references = (text: string) =>
  [...text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)(?:(:?[-?])[^}]*)?\}/g)].map((m) => ({ name: m[1]!, op: m[2] }));

/** Variable names a dotenv file assigns. */
const assigned = (text: string) =>
  text
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const { $schema: _draft, ...schema } = JSON.parse(read('test/deploy/compose-spec.schema.json')) as Record<
      string,
      unknown
    >;
    // The schema is upstream's: its own keywords (`deprecated`) are not ours to be strict about.
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs the proxy, the API, the worker and Redis', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'caddy', 'redis', 'worker']);
  });

  it.each(services)('%s has a healthcheck, a read-only root, a non-root user and a restart policy', (_name, s) => {
    expect(s.healthcheck?.test, 'healthcheck.test').toBeDefined();
    expect(s.healthcheck?.disable).not.toBe(true);
    expect(s.read_only, 'read_only').toBe(true);
    expect(s.user, 'user').toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    expect(s.restart, 'restart').toMatch(/^(always|unless-stopped|on-failure)/);
    expect(s.cap_drop, 'cap_drop').toEqual(['ALL']);
  });

  it('writes no secret inline: secrets are ${references} to .env, which git and Docker ignore', () => {
    const secretName = /(SECRET|TOKEN|PASSWORD|_KEY$|_KEY_ID$|SETUP)/;
    for (const [name, s] of services) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        const text = String(value ?? '');
        if (secretName.test(key)) expect(text, `${name}.${key}`).toMatch(/^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$/);
        // user:password@ in a URL must be a reference too.
        const userinfo = /:\/\/([^@/]*)@/.exec(text)?.[1];
        if (userinfo !== undefined) expect(userinfo, `${name}.${key}`).toMatch(/^[^:]*:\$\{[A-Z0-9_]+(:\?[^}]*)?\}$/);
      }
    }
    for (const name of ['api', 'worker']) expect(service(name).env_file).toBe('.env');
    const lines = (file: string) => read(file).split('\n');
    expect(lines('.gitignore')).toContain('.env');
    expect(lines('.dockerignore')).toContain('.env');
    expect(lines('.gitignore')).toContain('!.env.example');
  });

  it('.env.example sets every variable the compose file requires, and the docs explain each', () => {
    const example = read('.env.example');
    const names = assigned(example);
    const required = references(raw).filter((r) => r.op === undefined || r.op.endsWith('?'));
    for (const r of required) expect(names, `\${${r.name}}`).toContain(r.name);
    const docs = read('docs/deploy.md') + read('docs/configuration.md');
    for (const name of names) expect(docs, `${name} is documented`).toContain(`\`${name}\``);
    // Placeholders only: nothing that looks like a real credential.
    expect(example).not.toMatch(/AKIA[0-9A-Z]{16}/);
    expect(example).not.toMatch(/=(?:AC|SK|IS)[0-9a-f]{32}\b/);
  });

  it('runs the server in production mode behind the proxy, with the worker ops port', () => {
    for (const name of ['api', 'worker']) {
      const env = service(name).environment ?? {};
      expect(env.CONDUIT_MODE, name).toBe('production');
      expect(String(env.CONDUIT_PUBLIC_URL), name).toMatch(/^https:\/\//);
      expect(env.CONDUIT_TRUST_PROXY, name).toBeTruthy();
      expect(service(name).command, name).toEqual([name]);
    }
    const worker = service('worker');
    const opsPort = String(worker.environment?.CONDUIT_OPS_PORT);
    expect(opsPort).toMatch(/^\d+$/);
    expect(JSON.stringify(worker.healthcheck?.test)).toContain(`:${opsPort}/healthz`);
    expect(JSON.stringify(service('api').healthcheck?.test)).toContain(':8080/healthz');
    // Only the proxy faces the outside; the worker's ops port only on the host's loopback.
    expect(service('api').ports).toBeUndefined();
    expect(service('redis').ports).toBeUndefined();
    expect(worker.ports).toEqual([`127.0.0.1:${opsPort}:${opsPort}`]);
  });

  it('runs Redis with AOF and noeviction, and Caddy with the repository Caddyfile', () => {
    const redis = (service('redis').command ?? []).join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--maxmemory-policy noeviction');
    expect(service('redis').volumes).toContain('redis-data:/data');
    expect(service('caddy').volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(existsSync(new URL('Caddyfile', root))).toBe(true);
  });

  it('builds each image from a Dockerfile on Node 22 or newer that ends as a non-root user', () => {
    const dockerfiles = new Set<string>();
    for (const [, s] of services) {
      if (s.build === undefined) continue;
      const b = typeof s.build === 'string' ? { context: s.build } : s.build;
      dockerfiles.add(`${b.context ?? '.'}/${b.dockerfile ?? 'Dockerfile'}`.replace(/^\.\//, ''));
    }
    expect([...dockerfiles].sort()).toEqual(['deploy/caddy/Dockerfile', 'packages/server/Dockerfile']);
    for (const file of dockerfiles) {
      const lines = read(file).split('\n');
      const finalStage = lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')));
      const user = finalStage.filter((l) => l.startsWith('USER ')).at(-1);
      expect(user, file).toBeDefined();
      expect(user, file).not.toMatch(/^USER (root|0)(:|$)/);
    }
    for (const line of read('packages/server/Dockerfile')
      .split('\n')
      .filter((l) => l.startsWith('FROM node:'))) {
      expect(Number(/^FROM node:(\d+)/.exec(line)?.[1]), line).toBeGreaterThanOrEqual(22);
    }
  });
});
