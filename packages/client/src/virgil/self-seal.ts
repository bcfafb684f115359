import type { EThree } from '@virgilsecurity/e3kit-node';
import { ConduitError } from '@conduit/shared';
import { virgil } from './errors.js';

/**
 * Seals small secrets (an upload's content key) for this identity only, so resumable-upload state
 * on disk never holds a key in the clear: E3Kit authEncrypt with no recipient encrypts to self and signs.
 */
export interface KeySealer {
  seal(secret: Buffer): Promise<string>;
  open(sealed: string): Promise<Buffer>;
}

export function selfSealer(ethree: EThree): KeySealer {
  return {
    seal: async (secret) =>
      asBuffer(await virgil('Sealing the upload key', () => ethree.authEncrypt(secret))).toString('base64'),
    open: async (sealed) =>
      asBuffer(await virgil('Opening the upload key', () => ethree.authDecrypt(Buffer.from(sealed, 'base64')))),
  };
}

function asBuffer(data: string | Buffer): Buffer {
  if (typeof data === 'string') throw new ConduitError('INTERNAL', 'Unexpected string from E3Kit.');
  return data;
}
