/**
 * One address in front of several API processes, as a load balancer would put it: each request
 * goes to the next upstream in turn. An upstream that refuses the connection (nothing reached it)
 * is skipped for the next one; an upstream that fails after it got the request (killed
 * mid-request) is a 502 the client retries, as behind a real balancer. Bodies are buffered (API
 * bodies are small; uploads go to S3 directly), so a skipped upstream loses nothing.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const MAX_BODY_BYTES = 1024 * 1024;

export interface Forwarded {
  method: string;
  path: string;
  /** Index of the upstream that got the request. */
  upstream: number;
}

export class RoundRobinProxy {
  /** Requests each upstream answered (not counting 502s the proxy made up). */
  readonly answered: number[];
  /** Requests that failed after reaching an upstream (answered 502 here). */
  readonly failedMidRequest: Forwarded[] = [];
  /** Test hook: runs once a request has been written to its upstream, before the answer. */
  onForwarded: ((f: Forwarded) => void) | undefined;
  private next = 0;

  private constructor(
    private readonly server: Server,
    private readonly upstreams: URL[],
    readonly url: string,
  ) {
    this.answered = upstreams.map(() => 0);
  }

  static async start(upstreams: string[]): Promise<RoundRobinProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = new RoundRobinProxy(
      server,
      upstreams.map((u) => new URL(u)),
      `http://127.0.0.1:${port}`,
    );
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void proxy.handle(req, res));
    return proxy;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === null) return void res.writeHead(413).end();
    const first = this.next++ % this.upstreams.length;
    for (let i = 0; i < this.upstreams.length; i += 1) {
      const upstream = (first + i) % this.upstreams.length;
      if ((await this.forward(req, res, body, upstream)) !== 'refused') return;
    }
    res.writeHead(502, { 'content-type': 'text/plain' }).end('no upstream answered');
  }

  /** 'refused': the upstream is down and got nothing, try the next one. */
  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer, upstream: number) {
    const target = this.upstreams[upstream]!;
    const forwarded: Forwarded = { method: req.method ?? 'GET', path: req.url ?? '/', upstream };
    return new Promise<'done' | 'refused'>((resolve) => {
      // A fresh connection per request: a pooled socket to a killed upstream would blur
      // "refused" (safe to send elsewhere) with "failed mid-request" (the client decides).
      const out = request(
        {
          host: target.hostname,
          port: target.port,
          method: forwarded.method,
          path: forwarded.path,
          headers: { ...req.headers, host: target.host, 'content-length': String(body.length) },
          agent: false,
        },
        (answer) => {
          this.answered[upstream]! += 1;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => resolve('done'));
          answer.on('error', () => {
            res.destroy();
            resolve('done');
          });
        },
      );
      out.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') return resolve('refused');
        this.failedMidRequest.push(forwarded);
        if (res.headersSent) res.destroy();
        else res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream failed');
        resolve('done');
      });
      out.end(body, () => this.onForwarded?.(forwarded));
    });
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
