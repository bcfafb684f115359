import type { Endpoint } from '@conduit/shared';
import { endpointKey, parseEndpointKey } from '@conduit/shared';

/**
 * pending -> purging -> purged | expired, with purging -> failed when the purge gives up (a later
 * successful purge still moves 'failed' on). 'expired' is a purge the sweeper forced because the
 * pointer outlived its maximum age. 'withdrawn' (terminal, from any other state) is a file its sender
 * or the group owner withdrew (lifecycle/withdrawal.ts).
 */
export type PointerStateName = 'pending' | 'purging' | 'purged' | 'expired' | 'failed' | 'withdrawn';

/** Why a pointer left 'pending'. */
export type PurgeReason = 'acknowledged' | 'expired' | 'member-removed' | 'device-removed' | 'no-recipients';

/** What the ledger binds a pointer id to: an acknowledgement must name the same object and envelope. */
export interface PointerBinding {
  /** Null for a record tombstone (no object). */
  objectId: string | null;
  /** SHA-256 (hex) of the sealed envelope bytes. */
  envelopeSha256: string;
}

export interface Receipt extends Endpoint {
  /** The endpoint's signature over the receipt statement (base64). */
  signature: string;
  at: string;
}

export interface PointerRecord extends PointerBinding {
  pointerId: string;
  groupId: string;
  sender: Endpoint;
  state: PointerStateName;
  reason?: PurgeReason;
  /** Every endpoint that had to acknowledge at registration (dropped ones included). */
  expected: Endpoint[];
  acknowledged: Endpoint[];
  receipts: Receipt[];
  /** Endpoints whose pending acknowledgement was dropped (member or device removed). */
  dropped: Endpoint[];
  createdAt: string;
  purgedAt?: string;
  failedAt?: string;
  withdrawnAt?: string;
  withdrawnBy?: string;
}

/** What a deletion receipt is built from (a PointerRecord has it; the purge worker reads only this). */
export type ReceiptInputs = Pick<
  PointerRecord,
  'pointerId' | 'groupId' | 'state' | 'reason' | 'createdAt' | 'expected' | 'acknowledged' | 'dropped'
>;

const STATES: readonly string[] = ['pending', 'purging', 'purged', 'expired', 'failed', 'withdrawn'];
const REASONS: readonly string[] = ['acknowledged', 'expired', 'member-removed', 'device-removed', 'no-recipients'];
const byKey = (a: Endpoint, b: Endpoint) => (endpointKey(a) < endpointKey(b) ? -1 : 1);

/** A stored state, or null for anything the ledger never writes. */
export function stateName(raw: string | null | undefined): PointerStateName | null {
  return raw && STATES.includes(raw) ? (raw as PointerStateName) : null;
}

const reasonOf = (raw: string | undefined) => (raw && REASONS.includes(raw) ? { reason: raw as PurgeReason } : {});

/** receiptInputs-4.lua's reply as ReceiptInputs; null when the entry is gone or not the ledger's. */
export function receiptInputsOf(
  pointerId: string,
  groupId: string,
  reply: [] | [string, string, string, string[], string[], string[]],
): ReceiptInputs | null {
  if (reply.length === 0) return null;
  const [rawState, reason, createdAt, expected, acked, dropped] = reply;
  const state = stateName(rawState);
  if (!createdAt || state === null) return null;
  return {
    pointerId,
    groupId,
    state,
    ...reasonOf(reason),
    createdAt,
    expected: [...expected, ...dropped].map(parseEndpointKey),
    acknowledged: acked.map(parseEndpointKey),
    dropped: dropped.map(parseEndpointKey),
  };
}

/** A pointer's hash, endpoint sets and receipts as one record (endpoints sorted); null when incomplete. */
export function pointerRecordOf(
  pointerId: string,
  [hash, expected, acked, dropped, receipts]: [
    Record<string, string>,
    string[],
    string[],
    string[],
    Record<string, string>,
  ],
): PointerRecord | null {
  const { groupId, senderIdentity, senderDevice, createdAt, purgedAt, failedAt, withdrawnAt, withdrawnBy } = hash;
  const { objectId, envelopeSha256 } = hash;
  const state = stateName(hash.state);
  if (!groupId || !senderIdentity || !senderDevice || !createdAt || envelopeSha256 === undefined) return null;
  if (state === null) return null;
  return {
    pointerId,
    groupId,
    sender: { identity: senderIdentity, deviceId: senderDevice },
    state,
    ...reasonOf(hash.reason),
    expected: [...expected, ...dropped].map(parseEndpointKey).sort(byKey),
    acknowledged: acked.map(parseEndpointKey).sort(byKey),
    receipts: Object.entries(receipts).map(parseReceipt).sort(byKey),
    objectId: objectId ? objectId : null,
    envelopeSha256,
    dropped: dropped.map(parseEndpointKey).sort(byKey),
    createdAt,
    ...(purgedAt ? { purgedAt } : {}),
    ...(failedAt ? { failedAt } : {}),
    ...(withdrawnAt ? { withdrawnAt } : {}),
    ...(withdrawnBy ? { withdrawnBy } : {}),
  };
}

function parseReceipt([key, value]: [string, string]): Receipt {
  const space = value.indexOf(' ');
  return { ...parseEndpointKey(key), at: value.slice(0, space), signature: value.slice(space + 1) };
}
