/**
 * Twilsock v3 framing: `TWILSOCK V3.0 <header bytes>\r\n<JSON header>\r\n<payload>`, sent as
 * binary WebSocket messages (the client sets binaryType 'arraybuffer' and parses bytes).
 */
import { z } from 'zod';

const MAGIC = 'TWILSOCK V3.0 ';
const MAX_HEADER_BYTES = 16 * 1024;

/** Fields every client frame carries; method-specific fields are validated by their handlers. */
export const FrameHeader = z
  .object({
    method: z.string().min(1).max(64),
    id: z.string().min(1).max(128),
    payload_size: z.number().int().min(0).optional(),
    payload_type: z.string().max(128).optional(),
  })
  .passthrough();
export type FrameHeader = z.infer<typeof FrameHeader>;

export interface Frame {
  header: FrameHeader;
  /** Parsed JSON payload (application/json or absent type), raw text otherwise, undefined when empty. */
  payload: unknown;
}

export class FrameError extends Error {}

export function encodeFrame(header: Record<string, unknown>, payload?: unknown): Buffer {
  const body =
    payload === undefined
      ? Buffer.alloc(0)
      : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const head = Buffer.from(JSON.stringify({ ...header, payload_size: body.length }));
  return Buffer.concat([Buffer.from(`${MAGIC}${head.length}\r\n`), head, Buffer.from('\r\n'), body]);
}

export function decodeFrame(data: Buffer): Frame {
  const lineEnd = data.indexOf('\r\n');
  if (lineEnd < 0 || lineEnd > 64) throw new FrameError('missing magic line');
  const magic = data.subarray(0, lineEnd).toString('latin1');
  if (!magic.startsWith(MAGIC)) throw new FrameError('unsupported protocol');
  const headerSize = Number(magic.slice(MAGIC.length));
  if (!Number.isInteger(headerSize) || headerSize <= 0 || headerSize > MAX_HEADER_BYTES) {
    throw new FrameError('bad header size');
  }
  const headerStart = lineEnd + 2;
  const headerEnd = headerStart + headerSize;
  if (headerEnd > data.length) throw new FrameError('truncated header');
  let rawHeader: unknown;
  try {
    rawHeader = JSON.parse(data.subarray(headerStart, headerEnd).toString('utf8'));
  } catch {
    throw new FrameError('header is not JSON');
  }
  const parsed = FrameHeader.safeParse(rawHeader);
  if (!parsed.success) throw new FrameError('invalid header');
  const header = parsed.data;
  const size = header.payload_size ?? 0;
  if (size === 0) return { header, payload: undefined };
  const payloadStart = headerEnd + 2;
  if (payloadStart + size > data.length) throw new FrameError('truncated payload');
  const text = data.subarray(payloadStart, payloadStart + size).toString('utf8');
  const type = header.payload_type;
  if (type === undefined || type.startsWith('application/json')) {
    try {
      return { header, payload: JSON.parse(text) };
    } catch {
      // twilio-sync's DELETE sends its product id ("data_sync") as a body typed application/json:
      // keep the text and let each route validate the body it needs.
      return { header, payload: text };
    }
  }
  return { header, payload: text };
}
