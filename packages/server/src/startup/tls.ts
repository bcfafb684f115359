import type { ServerConfig } from '../config.js';
import type { Refusal } from './refusal.js';

/**
 * The API speaks plain HTTP, so TLS must end at a reverse proxy in front of it: clients must be
 * told an https:// URL, and that proxy must be declared, or every client would share the proxy's
 * address in the per-address rate limits (one client could lock everyone out).
 */
export function checkTls(config: ServerConfig): Refusal | null {
  const problems: string[] = [];
  const settings: string[] = [];
  if (config.publicUrl === undefined || new URL(config.publicUrl).protocol !== 'https:') {
    settings.push('CONDUIT_PUBLIC_URL');
    problems.push(
      config.publicUrl === undefined
        ? 'CONDUIT_PUBLIC_URL is not set (the https:// URL clients use)'
        : 'CONDUIT_PUBLIC_URL is not an https:// URL',
    );
  }
  if (config.trustProxy === undefined) {
    settings.push('CONDUIT_TRUST_PROXY');
    problems.push('CONDUIT_TRUST_PROXY does not name the TLS-terminating proxy in front');
  }
  if (problems.length === 0) return null;
  return { check: 'tls', settings, reason: `no TLS in front: ${problems.join('; ')}` };
}
