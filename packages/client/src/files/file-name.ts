/**
 * File names come from the sender's envelope: authenticated, but still chosen by another person.
 * They must never steer where a file lands (no separators, no '..'), hide (leading dots), spoof
 * their extension (bidi overrides) or upset terminals (control characters).
 */
const MAX_NAME_BYTES = 200; // leaves room for a ' (NNN)' suffix within common 255-byte limits
const FALLBACK_NAME = 'received-file';

// C0/C1 controls, DEL, bidi embeddings/overrides/isolates, zero-width and BOM characters.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
// Path separators and characters Windows rejects in names.
const SEPARATORS = /[/\\:*?"<>|]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;

export function sanitizeFileName(name: string): string {
  let safe = name.normalize('NFC').replace(UNSAFE_CHARS, '').replace(SEPARATORS, '_');
  while (safe.includes('..')) safe = safe.replaceAll('..', '.');
  safe = safe.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (WINDOWS_RESERVED.test(safe)) safe = `_${safe}`;
  safe = truncateUtf8(safe, MAX_NAME_BYTES);
  return safe.length > 0 ? safe : FALLBACK_NAME;
}

/** `report.pdf` -> `report (1).pdf`: the n-th alternative when the name is taken. */
export function withSuffix(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}

/** Cuts to at most `maxBytes` of UTF-8, keeping the extension and never splitting a character. */
function truncateUtf8(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  let stem = [...name.slice(0, name.length - ext.length)];
  while (stem.length > 0 && Buffer.byteLength(stem.join('') + ext) > maxBytes) stem = stem.slice(0, -1);
  return stem.join('') + ext;
}
