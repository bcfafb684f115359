import { ConduitError } from '@conduit/shared';

/** Reads a response body, failing as soon as it exceeds `maxBytes` (Content-Length is only a hint). */
export async function readBounded(res: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    throw new ConduitError('TRANSPORT', `Response larger than ${maxBytes} bytes.`);
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await res.body.cancel().catch(() => undefined);
      throw new ConduitError('TRANSPORT', `Response larger than ${maxBytes} bytes.`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, total);
}

/** Maps fetch failures to typed errors without echoing URLs (presigned URLs carry credentials). */
export function networkError(err: unknown, peer = 'the server'): ConduitError {
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError') return new ConduitError('TIMEOUT', `${capitalize(peer)} did not answer in time.`);
  return new ConduitError('TRANSPORT', `Could not reach ${peer}.`, undefined, { cause: err });
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** One API request: JSON body, a timeout, no redirects; network failures become typed errors. */
export async function fetchJson(
  url: URL,
  req: { method: string; headers: Record<string, string>; body: unknown; timeoutMs: number },
): Promise<Response> {
  try {
    return await fetch(url, {
      method: req.method,
      headers: req.headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(req.timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    throw networkError(err);
  }
}

/** Reads at most `maxBytes`; a body that is not JSON becomes `undefined` (the status decides). */
export async function readJson(res: Response, maxBytes: number): Promise<unknown> {
  let text: string;
  try {
    text = (await readBounded(res, maxBytes)).toString('utf8');
  } catch (err) {
    if (err instanceof ConduitError) throw err;
    throw networkError(err);
  }
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
