import { readFile } from 'node:fs/promises';
import { verifyAuditText } from '@conduit/shared';
import type { AuditVerification } from '@conduit/shared';
import { buildAuditExport, type AuditExport, type AuditSince } from '../../audit/export.js';

/** `conduit audit verify --file`: checks a saved NDJSON download of the audit log (audit/verify.ts). */
export async function verifyAuditFile(path: string): Promise<AuditVerification> {
  return verifyAuditText(await readFile(path, 'utf8'));
}

/** `conduit audit export --file`: verifies a saved NDJSON download whole, exports from `since` (audit/export.ts). */
export async function exportAuditFile(path: string, since: AuditSince): Promise<AuditExport> {
  return buildAuditExport(await readFile(path, 'utf8'), since);
}
