import { ConduitError, DisplayName, MAX_SEALED_NAME_CHARS, NameStatement } from '@conduit/shared';

/**
 * Sealing and opening one name (docs/api.md "Names"). The plaintext is a NameStatement binding the
 * name to what it names, so a sealed name moved to another group or device does not open as its
 * name. The cipher signs and verifies: group names with the group key and the owner's pinned card,
 * device names with this identity's own key (E3Kit authEncrypt to self).
 */
export type NameCipher = (plaintext: Buffer) => Promise<Buffer>;

/** What an endpoint shows for a name: the name, or neither (none set), or why a sealed name is not shown. */
export interface OpenedName {
  name?: string;
  unverified?: string;
}

export type NameKind = NameStatement['kind'];

/** Checks a name as typed (VALIDATION_FAILED with the rule it breaks); returns it trimmed. */
export function parseName(name: string): string {
  const parsed = DisplayName.safeParse(name);
  if (!parsed.success) {
    throw new ConduitError('VALIDATION_FAILED', `Invalid name: ${parsed.error.issues[0]?.message ?? 'not allowed'}.`);
  }
  return parsed.data;
}

export async function sealName(kind: NameKind, id: string, name: string, encrypt: NameCipher): Promise<string> {
  const statement: NameStatement = { v: 1, kind, id, name: parseName(name) };
  const sealed = (await encrypt(Buffer.from(JSON.stringify(statement)))).toString('base64');
  if (sealed.length > MAX_SEALED_NAME_CHARS) {
    throw new ConduitError('VALIDATION_FAILED', 'The name is too long once sealed; choose a shorter one.');
  }
  return sealed;
}

/**
 * Opens a sealed name; never throws for a bad one (a name is a label, not a reason to fail the
 * command): a name that does not verify, or names something else, is reported as unverified.
 */
export async function openName(
  kind: NameKind,
  id: string,
  sealed: string | undefined,
  decrypt: NameCipher,
  signer: string,
): Promise<OpenedName> {
  if (sealed === undefined) return {};
  let plaintext: Buffer;
  try {
    plaintext = await decrypt(Buffer.from(sealed, 'base64'));
  } catch {
    return { unverified: `the name does not open with your key or was not sealed by ${signer}` };
  }
  let statement: NameStatement;
  try {
    statement = NameStatement.parse(JSON.parse(plaintext.toString('utf8')));
  } catch {
    return { unverified: 'the sealed name is malformed' };
  }
  if (statement.kind !== kind || statement.id !== id) {
    return { unverified: `the sealed name belongs to another ${statement.kind}` };
  }
  return { name: statement.name };
}
