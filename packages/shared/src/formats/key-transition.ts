import { z } from 'zod';
import { Identity } from '../ids.js';

/**
 * Key-transition statements (docs/identity.md): when an identity rotates its key while the old
 * private key is still on the device, it signs, with the old key, a statement naming the new
 * card, and publishes it through the server. Peers that pinned the old card accept the new one
 * only when such a chain leads to it. The server stores and serves statements but cannot forge
 * them: it never holds a private key.
 */
export const KEY_TRANSITION_VERSION = 1;
/** Statements kept per identity (the newest); a chain longer than this needs `conduit trust`. */
export const MAX_KEY_TRANSITIONS = 32;
/** The signed statement travels as the exact JSON text that was signed. */
export const MAX_KEY_TRANSITION_STATEMENT_CHARS = 1024;
const MAX_SIGNATURE_CHARS = 512;

/** Virgil card ids: hex of 32 bytes. */
export const CardId = z.string().regex(/^[0-9a-f]{64}$/, 'a card id is 64 lowercase hex characters');

export const KeyTransitionStatement = z.strictObject({
  v: z.literal(KEY_TRANSITION_VERSION),
  identity: Identity,
  oldCardId: CardId,
  newCardId: CardId,
  /** base64 of the exported new public key (as on the card). */
  newPublicKey: z.base64().min(1).max(512),
  at: z.iso.datetime(),
});
export type KeyTransitionStatement = z.infer<typeof KeyTransitionStatement>;

export const KeyTransition = z.strictObject({
  statement: z.string().min(1).max(MAX_KEY_TRANSITION_STATEMENT_CHARS),
  /** base64 signature over the statement's UTF-8 bytes, by the old card's key. */
  signature: z.base64().min(1).max(MAX_SIGNATURE_CHARS),
});
export type KeyTransition = z.infer<typeof KeyTransition>;

// PUT /v1/identities/me/key-transitions (body: KeyTransition) -> 204
// GET /v1/identities/:identity/key-transitions -> KeyTransitionList (oldest first)
export const KeyTransitionList = z.object({ transitions: z.array(KeyTransition).max(MAX_KEY_TRANSITIONS) });
export type KeyTransitionList = z.infer<typeof KeyTransitionList>;
export const IdentityParams = z.strictObject({ identity: Identity });

/** Signatures cover this prefix too, so no other signed blob of the same key can pass for a statement. */
export const KEY_TRANSITION_DOMAIN = 'conduit key transition\n';

/** The statement's text as it travels and is signed: the JSON of its fields, in this order. */
export function keyTransitionStatementText(fields: Omit<KeyTransitionStatement, 'v'>): string {
  const body: KeyTransitionStatement = {
    v: KEY_TRANSITION_VERSION,
    identity: fields.identity,
    oldCardId: fields.oldCardId,
    newCardId: fields.newCardId,
    newPublicKey: fields.newPublicKey,
    at: fields.at,
  };
  return JSON.stringify(body);
}

/** The bytes the old card's key signs: the domain prefix, then the statement's UTF-8 text. */
export const keyTransitionSignedBytes = (statement: string): Buffer =>
  Buffer.from(KEY_TRANSITION_DOMAIN + statement, 'utf8');

/** Parses a statement's JSON text; undefined when it is not a well-formed statement. */
export function parseKeyTransitionStatement(text: string): KeyTransitionStatement | undefined {
  try {
    const parsed = KeyTransitionStatement.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
