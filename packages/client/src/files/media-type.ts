import mime from 'mime';

/**
 * The media type a receiver sees, guessed from the file name's extension with `mime` (the IANA
 * registry plus common vendor types, from mime-db); anything unknown is opaque bytes. Sealed in the
 * envelope with the name: the server never sees it.
 */
export function guessMediaType(fileName: string): string {
  return mime.getType(fileName) ?? 'application/octet-stream';
}
