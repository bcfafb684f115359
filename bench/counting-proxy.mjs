/* global Buffer, URL */
// A pass-through HTTP proxy that counts the requests it forwards, for benches that must measure
// how many requests reach a dependency (S3, Sync REST) rather than assume it. Bodies and headers
// travel unchanged (s3rver checks no signatures; presigned URLs name the proxy's host), so the
// server and the load generator see the real service behind it.
import http from 'node:http';

/**
 * Starts a proxy in front of `targetUrl`. `onRequest({method, url, status, at})` is called once per
 * answered request (`url` is the path and query as sent, `body` the request body). Resolves with `{url, close}`.
 */
export async function startCountingProxy(targetUrl, onRequest) {
  const target = new URL(targetUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => forward(Buffer.concat(chunks), true));
    const forward = (body, mayRetry) => {
      const upstream = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on('end', () =>
            onRequest({ method: req.method, url: req.url, status: up.statusCode, at: Date.now(), body }),
          );
        },
      );
      upstream.on('error', (err) => {
        // A socket the overloaded target reset (often a kept-alive one it closed meanwhile): every
        // request proxied here is idempotent (S3 PUT/GET/HEAD of fixed bytes, Sync item writes by
        // key), so it is resent once; a second failure is the caller's 502.
        if (mayRetry && err.code === 'ECONNRESET') return forward(body, false);
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    };
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Counts per (key, whole second): the peak and mean rates a workload put on each object. */
export class RateCounter {
  bySecond = new Map();
  totals = new Map();

  add(key, at) {
    const sec = Math.floor(at / 1000);
    let secs = this.bySecond.get(key);
    if (!secs) this.bySecond.set(key, (secs = new Map()));
    secs.set(sec, (secs.get(sec) ?? 0) + 1);
    this.totals.set(key, (this.totals.get(key) ?? 0) + 1);
  }

  /** The highest count any single key saw in one second. */
  peakPerKey() {
    let peak = 0;
    for (const secs of this.bySecond.values()) for (const n of secs.values()) peak = Math.max(peak, n);
    return peak;
  }

  /** The highest count all keys together saw in one second. */
  peakAll() {
    const all = new Map();
    for (const secs of this.bySecond.values()) for (const [s, n] of secs) all.set(s, (all.get(s) ?? 0) + n);
    return Math.max(0, ...all.values());
  }

  total() {
    let sum = 0;
    for (const n of this.totals.values()) sum += n;
    return sum;
  }
}
