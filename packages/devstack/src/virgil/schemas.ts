import { z } from 'zod';

/**
 * Request and stored-state shapes. Every string that crosses the network is bounded here; the
 * 1 MiB body limit bounds the rest. Base64 is the standard alphabet with padding, as the Virgil
 * clients send it.
 */
const base64 = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'base64');

/** Virgil identities are opaque strings; printable and bounded is all the directory needs. */
export const VirgilIdentity = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]+$/u, 'identity: no control characters');

export const CardId = z.string().regex(/^[0-9a-f]{64}$/, 'card id: 64 lowercase hex characters');

/** Keyknox root/path/key segments: e3kit uses 'group-sessions' / session id hex / epoch, 'e3kit' / 'backup' / name. */
const KeyknoxSegment = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._@+-]+$/, 'keyknox segment: letters, digits and . _ @ + - only');

const KeyknoxData = base64(512 * 1024).min(1);

/**
 * Card bounds, in base64 characters. The largest keys the Virgil SDKs generate (virgil-crypto 4.2,
 * measured): CURVE25519_ROUND5_ED25519_FALCON public key 2,072, RSA_8192 public key 1,416 and
 * signature 1,396, the post-quantum signature 1,208. The cloud publishes no limit; four times
 * the largest leaves room for new key types while a card stays a few KB.
 */
const CARD_KEY_MAX = 8192;
const CARD_SIGNATURE_MAX = 8192;
/** The snapshot carries the public key base64 inside JSON, base64-encoded again (4/3), plus the rest. */
const CARD_SNAPSHOT_MAX = 16384;

export const RawSignature = z.object({
  signer: z.string().min(1).max(64),
  signature: base64(CARD_SIGNATURE_MAX).min(1),
  snapshot: base64(4096).optional(),
});
export type RawSignature = z.infer<typeof RawSignature>;

// POST /card/v5
export const PublishCardBody = z.object({
  content_snapshot: base64(CARD_SNAPSHOT_MAX).min(1),
  signatures: z.array(RawSignature).min(1).max(8),
});

/** The JSON inside content_snapshot (virgil-sdk `generateRawSigned`). */
export const CardContent = z.object({
  identity: VirgilIdentity,
  public_key: base64(CARD_KEY_MAX).min(1),
  version: z.literal('5.0'),
  created_at: z.number().int().nonnegative(),
  previous_card_id: CardId.nullish(),
});
export type CardContent = z.infer<typeof CardContent>;

// POST /card/v5/actions/search
export const SearchCardsBody = z.object({ identities: z.array(VirgilIdentity).min(1).max(100) });

// PUT /keyknox/v1
export const KeyknoxV1PushBody = z.object({ meta: KeyknoxData, value: KeyknoxData });

// POST /keyknox/v2/push
export const KeyknoxV2PushBody = z.object({
  root: KeyknoxSegment,
  path: KeyknoxSegment,
  key: KeyknoxSegment,
  identities: z.array(VirgilIdentity).min(1).max(100),
  meta: KeyknoxData,
  value: KeyknoxData,
});

// POST /keyknox/v2/pull
export const KeyknoxV2PullBody = z.object({
  root: KeyknoxSegment,
  path: KeyknoxSegment,
  key: KeyknoxSegment,
  identity: VirgilIdentity,
});

// POST /keyknox/v2/keys
export const KeyknoxV2KeysBody = z.object({ root: KeyknoxSegment, path: KeyknoxSegment, identity: VirgilIdentity });

// POST /keyknox/v2/reset
export const KeyknoxV2ResetBody = z.object({
  root: KeyknoxSegment,
  path: KeyknoxSegment,
  key: KeyknoxSegment.optional(),
  identity: VirgilIdentity.optional(),
});

// POST /pythia/v1/brainkey
export const BrainkeyBody = z.object({
  blinded_password: base64(1024).min(1),
  brainkey_id: z.string().min(1).max(128).optional(),
});

/** Previous-hash request header and the hashes the directory hands out. */
export const KeyknoxHash = z.string().min(1).max(128);

const CardRecord = z.object({
  id: CardId,
  identity: VirgilIdentity,
  contentSnapshot: z.string(),
  signatures: z.array(RawSignature),
  previousCardId: CardId.nullable(),
  supersededBy: CardId.nullable(),
  revoked: z.boolean(),
});
export type CardRecord = z.infer<typeof CardRecord>;

const Blob = z.object({ meta: z.string(), value: z.string() });
export type KeyknoxBlob = z.infer<typeof Blob>;

/** `version` is the major version Keyknox v1 answers as "<version>.0"; files from before it start at 1. */
const KeyknoxV1Entry = Blob.extend({
  identity: VirgilIdentity,
  hash: KeyknoxHash,
  version: z.number().int().min(1).default(1),
});
export type KeyknoxV1Entry = z.infer<typeof KeyknoxV1Entry>;

const KeyknoxV2Entry = z.object({
  owner: VirgilIdentity,
  root: KeyknoxSegment,
  path: KeyknoxSegment,
  key: KeyknoxSegment,
  hash: KeyknoxHash,
  readers: z.array(Blob.extend({ identity: VirgilIdentity })),
});

/** The data file: everything a restarted directory needs, including its secret keys. */
export const PersistedState = z.object({
  version: z.literal(1),
  signingKey: base64(1024).min(1),
  pythiaKey: base64(1024).min(1),
  cards: z.array(CardRecord),
  keyknoxV1: z.array(KeyknoxV1Entry),
  keyknoxV2: z.array(KeyknoxV2Entry),
});
export type PersistedState = z.infer<typeof PersistedState>;
export type PersistedV2Entry = z.infer<typeof KeyknoxV2Entry>;
