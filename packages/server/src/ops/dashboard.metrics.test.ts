import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { httpMetrics } from './http-metrics.js';
import { DeliveryMetrics } from './metrics.js';

// The Grafana dashboard next to docker-compose.yml and the metrics table of docs/delivery.md
// name only series the server exports, and the table lists every Conduit metric.
const root = new URL('../../../../', import.meta.url);

async function exported(): Promise<{ series: Set<string>; metrics: string[] }> {
  const m = new DeliveryMetrics();
  httpMetrics(m.registry);
  const metrics = (await m.registry.getMetricsAsJSON()).map((x) => ({ name: x.name, type: String(x.type) }));
  const series = new Set<string>();
  for (const { name, type } of metrics) {
    series.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) series.add(name + suffix);
  }
  return { series, metrics: metrics.map((x) => x.name) };
}

describe('metrics named outside the code', () => {
  it('the Grafana dashboard queries only exported series', async () => {
    const dashboard = JSON.parse(await readFile(new URL('grafana-dashboard.json', root), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const named = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/conduit_\w+/g) ?? []));
    expect(named.length).toBeGreaterThan(10);
    const { series } = await exported();
    expect(named.filter((n) => !series.has(n))).toEqual([]);
  });

  it("docs/delivery.md's table lists every Conduit metric (process metrics aside)", async () => {
    const doc = await readFile(new URL('docs/delivery.md', root), 'utf8');
    const listed = new Set([...doc.matchAll(/^\| `(conduit_\w+)`/gm)].map((m) => m[1]));
    const own = (await exported()).metrics.filter((n) => !/^conduit_(process|nodejs)_/.test(n));
    expect(own.filter((n) => !listed.has(n))).toEqual([]);
    expect([...listed].filter((n) => !own.includes(n as string))).toEqual([]);
  });
});
