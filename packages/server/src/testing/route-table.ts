import type { Express } from 'express';

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean | undefined> };
  handle: { stack?: Layer[] };
  rawPath?: unknown;
}

/**
 * Every `METHOD /path` the app's routers serve, read from Express' own router stack (router 2's
 * layers keep the path they were mounted with as `rawPath`). `skip` names mount paths to leave out.
 * `.all()` handlers (405 answers) are not operations.
 */
export function routeTable(app: Express, skip: readonly string[] = []): Set<string> {
  const found = new Set<string>();
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        if (typeof layer.route.path !== 'string') throw new Error(`Unsupported route path under ${prefix}`);
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') found.add(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
        }
      } else if (Array.isArray(layer.handle.stack)) {
        const mount = layer.rawPath === undefined || layer.rawPath === '/' ? '' : layer.rawPath;
        if (typeof mount !== 'string') throw new Error(`Unsupported mount path under ${prefix}`);
        if (!skip.includes(prefix + mount)) walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found;
}
