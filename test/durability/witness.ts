/**
 * What the multi-process test checks against, read from outside the Conduit processes: the Sync
 * emulator's record of item writes, the audit chain (verified), and each process's metrics.
 */
import type { RestItemWrite } from '@conduit/devstack';
import { AUDIT_HEAD_HEADER, verifyAuditText } from '@conduit/shared';

/** Writes to the given keys, per key, in the order Sync answered them. */
export function writesByKey(writes: RestItemWrite[], method: 'POST' | 'DELETE', keys: string[]) {
  const wanted = new Set(keys);
  const out = new Map<string, RestItemWrite[]>(keys.map((k) => [k, []]));
  for (const w of writes) if (w.method === method && wanted.has(w.key)) out.get(w.key)!.push(w);
  return out;
}

/** The most writes Sync accepted for one map within any `windowMs` (a sliding window over answer times). */
export function busiestWindow(writes: RestItemWrite[], windowMs: number): number {
  const times = writes.filter((w) => w.status < 300).map((w) => w.at);
  times.sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < times.length; j += 1) {
    while (times[j]! - times[i]! >= windowMs) i += 1;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

export interface AuditRecord {
  entry: { type: string; pointerId?: string; reason?: string; acknowledgedBy?: string[]; dropped?: string[] };
}

/** The whole audit chain through `apiUrl`, verified link by link against the head the server states. */
export async function auditChain(apiUrl: string, token: string, deviceId: string): Promise<AuditRecord[]> {
  const res = await fetch(`${apiUrl}/v1/admin/audit`, {
    headers: { authorization: `Bearer ${token}`, 'conduit-device': deviceId },
  });
  if (res.status !== 200) throw new Error(`audit answered ${res.status}`);
  const [seq, hash] = (res.headers.get(AUDIT_HEAD_HEADER) ?? '').split(' ');
  const text = await res.text();
  verifyAuditText(text, { seq: Number(seq), hash: hash ?? '' });
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** Deletion receipts per pointer id. */
export function receiptsOf(chain: AuditRecord[], pointerIds: string[]): Map<string, AuditRecord['entry'][]> {
  const out = new Map<string, AuditRecord['entry'][]>(pointerIds.map((p) => [p, []]));
  for (const { entry } of chain) {
    if (entry.type === 'deletion-receipt' && entry.pointerId) out.get(entry.pointerId)?.push(entry);
  }
  return out;
}

/** Sum of `conduit_purges_total` over its labels, scraped from a worker's ops port. */
export async function purgesCounted(opsUrl: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^conduit_purges_total(?:\{[^}]*\})? ([0-9.e+]+)$/.exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}
