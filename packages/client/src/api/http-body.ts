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
