import { readFile } from 'node:fs/promises';
import { verifyAuditText } from '@conduit/shared';
import type { AuditVerification } from '@conduit/shared';

/** `conduit audit verify --file`: checks a saved NDJSON download of the audit log (audit/verify.ts). */
export async function verifyAuditFile(path: string): Promise<AuditVerification> {
  return verifyAuditText(await readFile(path, 'utf8'));
}
