import { z } from 'zod';
import { Password } from './api.js';
import { DeviceId, Identity } from './ids.js';

/**
 * OPAQUE (RFC 9807) password authentication, dev auth mode (docs/api.md, docs/identity.md). Every
 * protocol message is one of @serenity-kit/opaque's base64url strings, bounded well above its size.
 */
const opaqueMessage = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+={0,2}$/);

/** A random id the server hands out for one step of a flow (single use, short-lived). */
export const FlowId = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/);
/** A one-time code an operator printed with `conduit-server admin bootstrap`. */
export const RegistrationCode = z.string().regex(/^[A-Za-z0-9_-]{16,128}$/);

// POST /v1/auth/opaque/register/start -> OpaqueRegisterStartResponse
export const OpaqueRegisterStartRequest = z.strictObject({
  identity: Identity,
  registrationRequest: opaqueMessage(256),
  registrationCode: RegistrationCode.optional(),
});
export type OpaqueRegisterStartRequest = z.infer<typeof OpaqueRegisterStartRequest>;
export const OpaqueRegistrationResponse = z.object({ registrationResponse: opaqueMessage(512) });
export type OpaqueRegistrationResponse = z.infer<typeof OpaqueRegistrationResponse>;

// POST /v1/auth/opaque/register/finish -> 201 RegisterResponse
export const OpaqueRegisterFinishRequest = z.strictObject({
  identity: Identity,
  registrationRecord: opaqueMessage(1024),
  registrationCode: RegistrationCode.optional(),
});
export type OpaqueRegisterFinishRequest = z.infer<typeof OpaqueRegisterFinishRequest>;

// POST /v1/auth/opaque/login/start -> OpaqueLoginStartResponse
export const OpaqueLoginStartRequest = z.strictObject({ identity: Identity, startLoginRequest: opaqueMessage(512) });
export type OpaqueLoginStartRequest = z.infer<typeof OpaqueLoginStartRequest>;
/** `legacy`: the identity still has a pre-OPAQUE password hash and must migrate (docs/identity.md). */
export const OpaqueLoginStartResponse = z.union([
  z.object({ loginId: FlowId, loginResponse: opaqueMessage(1024) }),
  z.object({ legacy: z.literal(true) }),
]);
export type OpaqueLoginStartResponse = z.infer<typeof OpaqueLoginStartResponse>;

// POST /v1/auth/opaque/login/finish -> SessionResponse
export const OpaqueLoginFinishRequest = z.strictObject({
  loginId: FlowId,
  finishLoginRequest: opaqueMessage(512),
  deviceId: DeviceId,
});
export type OpaqueLoginFinishRequest = z.infer<typeof OpaqueLoginFinishRequest>;

// POST /v1/auth/opaque/password/start -> ReregisterTicket: a fresh login proof plus the new password's request
export const OpaquePasswordStartRequest = z.strictObject({
  loginId: FlowId,
  finishLoginRequest: opaqueMessage(512),
  registrationRequest: opaqueMessage(256),
});
export type OpaquePasswordStartRequest = z.infer<typeof OpaquePasswordStartRequest>;

// POST /v1/auth/opaque/migrate/start -> ReregisterTicket: the legacy login secret proves the account
export const OpaqueMigrateStartRequest = z.strictObject({
  identity: Identity,
  legacyPassword: Password,
  registrationRequest: opaqueMessage(256),
});
export type OpaqueMigrateStartRequest = z.infer<typeof OpaqueMigrateStartRequest>;
export const ReregisterTicket = z.object({ ticket: FlowId, registrationResponse: opaqueMessage(512) });
export type ReregisterTicket = z.infer<typeof ReregisterTicket>;

// POST /v1/auth/opaque/reregister -> 204: stores the new record and ends every session of the identity
export const ReregisterRequest = z.strictObject({ ticket: FlowId, registrationRecord: opaqueMessage(1024) });
export type ReregisterRequest = z.infer<typeof ReregisterRequest>;

// DELETE /v1/identity -> IdentityDeletionReport (docs/lifecycle.md#deleting-an-identity). Dev mode
// re-authenticates with a fresh OPAQUE login proof (login/start, then this instead of login/finish);
// OIDC mode sends no proof but needs an ID token whose auth_time is recent.
export const DeleteIdentityRequest = z.strictObject({
  loginId: FlowId.optional(),
  finishLoginRequest: opaqueMessage(512).optional(),
  /** Delete the groups the identity owns too (otherwise IDENTITY_OWNS_GROUPS lists them). */
  withGroups: z.boolean().optional(),
});
export type DeleteIdentityRequest = z.infer<typeof DeleteIdentityRequest>;

const count = z.number().int().min(0);
export const IdentityDeletionReport = z.object({
  identity: Identity,
  /** False when an earlier run had finished it already (nothing more was deleted). */
  deleted: z.boolean(),
  devices: count,
  groupsLeft: count,
  groupsDeleted: count,
  objectsDeleted: count,
  bytes: count,
  sentFiles: z.enum(['keep', 'delete']),
  cardsRevoked: count,
  backupsReset: count,
});
export type IdentityDeletionReport = z.infer<typeof IdentityDeletionReport>;

/**
 * A deleted identity's cards as the directory published them before the deletion revoked them
 * (docs/lifecycle.md "Kept files of a deleted identity"): Virgil's raw signed model, which the SDK
 * imports with the directory's card verifier (the service's countersignature is checked, so the
 * server cannot mint one), and when the server revoked it.
 */
const base64 = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/);
export const MAX_RETIRED_CARDS = 16;
export const RawCardModel = z.object({
  content_snapshot: base64(4096),
  signatures: z
    .array(z.object({ signer: z.string().min(1).max(64), signature: base64(1024), snapshot: base64(1024).optional() }))
    .min(1)
    .max(8),
});
export type RawCardModel = z.infer<typeof RawCardModel>;
export const RetiredCard = z.object({ rawCard: RawCardModel, revokedAt: z.iso.datetime() });
export type RetiredCard = z.infer<typeof RetiredCard>;
export const RetiredCardList = z.object({ cards: z.array(RetiredCard).min(1).max(MAX_RETIRED_CARDS) });
export type RetiredCardList = z.infer<typeof RetiredCardList>;
