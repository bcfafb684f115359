import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { IV_BYTES, TAG_BYTES } from '../../crypto/sealed-file.js';
import type { Sealed } from '../../crypto/sealed-file.js';
import type { SealingCipher } from '../sealing-cipher.js';

export function seal(key: Buffer, data: Buffer, aad: string): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(data), cipher.final()]);
  return { iv: iv.toString('base64'), ct: ct.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
}

/** Throws (a plain Error) when the tag does not verify: wrong key, or tampered data. */
export function openSealed(key: Buffer, s: Sealed, aad: string): Buffer {
  const iv = Buffer.from(s.iv, 'base64');
  const tag = Buffer.from(s.tag, 'base64');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('malformed');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
    .setAAD(Buffer.from(aad, 'utf8'))
    .setAuthTag(tag);
  return Buffer.concat([decipher.update(Buffer.from(s.ct, 'base64')), decipher.final()]);
}

export const nodeSealingCipher: SealingCipher = { seal, open: openSealed };
