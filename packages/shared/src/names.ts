import { z } from 'zod';

/**
 * Names of groups and devices (docs/api.md "Names"). The server stores and returns only a sealed
 * name: group names are sealed with the group's E3Kit key and signed by the owner, device names
 * are sealed by the identity for itself. The plaintext below exists only on endpoints.
 */

/** Characters of one name (after trimming). */
export const MAX_NAME_CHARS = 100;
/** Base64 of one sealed name: E3Kit's ciphertext of NameStatement, with its signature. */
export const MAX_SEALED_NAME_CHARS = 4096;

export const SealedName = z
  .string()
  .min(4)
  .max(MAX_SEALED_NAME_CHARS)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'sealedName: base64');
export type SealedName = z.infer<typeof SealedName>;

// PUT /v1/groups/:groupId/name (owner) ; PUT /v1/devices/:deviceId/name (one's own devices) -> 204
export const SetNameRequest = z.strictObject({ sealedName: SealedName });
export type SetNameRequest = z.infer<typeof SetNameRequest>;

/**
 * A name as people type it: trimmed, 1-100 characters, no control characters, and never a group
 * id's shape (so an argument that looks like an id is always taken as one).
 */
export const DisplayName = z
  .string()
  .trim()
  .min(1, 'a name needs at least one character')
  .max(MAX_NAME_CHARS, `a name has at most ${MAX_NAME_CHARS} characters`)
  .refine((s) => !/\p{Cc}/u.test(s), 'a name cannot contain control characters')
  .refine((s) => !/^[0-9a-f]{32}$/.test(s), 'a name cannot look like an id (32 hex characters)');
export type DisplayName = z.infer<typeof DisplayName>;

/** What is sealed: the name bound to what it names, so a sealed name cannot be moved to another. */
export const NameStatement = z.strictObject({
  v: z.literal(1),
  kind: z.enum(['group', 'device']),
  id: z.string().min(1).max(64),
  name: DisplayName,
});
export type NameStatement = z.infer<typeof NameStatement>;
