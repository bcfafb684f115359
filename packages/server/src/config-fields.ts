import { isIP } from 'node:net';
import { parseRetentionRule } from '@conduit/shared';
import { z } from 'zod';
import { parseClusterUrl } from './adapters/redis/connection.js';

/** The environment variables' value schemas (config.ts reads each variable with one of them). */
export const text = z.string().trim().min(1).max(8192);
export const url = z.url({ protocol: /^https?$/ });
/** One Redis (`redis://`, `rediss://`) or a cluster's seed nodes (`redis+cluster://h:p,h:p`). */
export const redisUrl = z.union([
  z.url({ protocol: /^rediss?$/ }),
  z.string().refine((v) => {
    try {
      return parseClusterUrl(v) !== null;
    } catch {
      return false;
    }
  }, 'a redis://, rediss:// or redis+cluster://host:port[,host:port...] URL'),
]);
export const boolFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
export const port = z.coerce.number().int().min(0).max(65535);
/** At least one presigned URL's life (15 min); at most 30 days of parts held by S3. */
export const uploadTtl = z.coerce
  .number()
  .int()
  .min(900)
  .max(30 * 24 * 3600);
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export const identityList = z
  .string()
  .max(8192)
  .transform((v) => [...new Set(v.split(',').map((s) => s.trim()))].filter((s) => s.length > 0))
  .pipe(z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/)).max(100));
/** An IPv4/IPv6 address or CIDR subnet, or one of the address classes Express names. */
const proxyEntry = z
  .string()
  .refine(
    (v) => ['loopback', 'linklocal', 'uniquelocal'].includes(v) || isSubnet(v),
    'an address, a CIDR subnet, loopback, linklocal or uniquelocal',
  );
/** Comma-separated; `true` (believe anyone's X-Forwarded-For) is deliberately not accepted. */
export const proxyList = z
  .string()
  .max(4096)
  .transform((v) => [...new Set(v.split(',').map((s) => s.trim()))].filter((s) => s.length > 0))
  .pipe(z.array(proxyEntry).min(1).max(64));
export const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);
/** At least a minute (clients refresh ahead of expiry), at most Twilio's own 24 h cap. */
export const syncTokenTtl = z.coerce.number().int().min(60).max(86_400);
/** Token lifetimes from the environment: at least a minute (clients renew ahead of expiry). */
export const tokenTtl = (maxSeconds: number) => z.coerce.number().int().min(60).max(maxSeconds);
/** BullMQ lock and stall-check periods: under 0.5 s the lock renewals alone would load Redis. */
export const lockMs = z.coerce.number().int().min(500).max(600_000);
/** A retention rule's text (shared/retention.ts); `delivered+...` for files only. */
export const retentionRule = (allowDelivered: boolean) =>
  z
    .string()
    .trim()
    .max(32)
    .transform((v, ctx) => {
      const rule = parseRetentionRule(v, allowDelivered);
      if (!rule) ctx.addIssue({ code: 'custom', message: 'not a retention rule' });
      return rule ?? z.NEVER;
    });

function isSubnet(value: string): boolean {
  const [address = '', bits, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}
