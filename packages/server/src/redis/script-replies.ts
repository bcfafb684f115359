/**
 * What the Lua scripts in ./scripts return, by name: each constant is the Output block of its
 * file's header, with the values the script returns. Callers compare with these, never with bare
 * numbers or strings. Scripts whose reply is a count, a list or a wait in ms carry no constant.
 */

type ValueOf<T> = T[keyof T];

/** registerPointer-9.lua */
export const RegisterPointerReply = { Created: 1, IdTaken: 0, Stale: -1 } as const;

/** archiveFeedPage-5.lua: a count of versions dropped from Redis, or this refusal. */
export const ArchiveFeedPageReply = { WatermarkMoved: -1, RangeChanged: -2 } as const;

/** ack-9.lua: `{code}` on a refusal, else `{remaining, AckAdded}`. */
export const AckReply = { UnknownPointer: -1, NotARecipient: -2, Mismatch: -3, Withdrawn: -4 } as const;
export const AckAdded = { First: 1, Repeat: 0 } as const;

/** dropEndpoints-8.lua: the second element of `{dropped, purging}`. */
export const DropEndpointsPurging = { Yes: 1, No: 0 } as const;

/** expirePointer-8.lua */
export const ExpirePointerReply = { Purging: 1, NotPending: 0 } as const;

/** markPurged-3.lua: the first element (`{Marked, latencyMs}` or `{code}`). */
export const MarkPurgedReply = { Marked: 1, Missing: -1, Already: -2, StillPending: -3 } as const;

/** markFailed-3.lua */
export const MarkFailedReply = { Marked: 1, NotPurging: 0 } as const;

/** keepItem-1.lua */
export const KeepItemReply = { Kept: 1, NotPending: 0 } as const;

/** registerDevice-3.lua: the first element of `{code, createdAt}`. */
export const RegisterDeviceReply = { Registered: 1, Limit: 0, Revoked: -1 } as const;

/** revokeDevice-4.lua */
export const RevokeDeviceReply = { Removed: 1, NotRegistered: 0 } as const;

/** deviceStatus-2.lua */
export const DeviceStatusReply = { Active: 'active', Revoked: 'revoked', Unknown: 'unknown' } as const;
export type DeviceStatusReply = ValueOf<typeof DeviceStatusReply>;

/** setDeviceName-2.lua */
export const SetDeviceNameReply = { Named: 1, NoSuchDevice: 0 } as const;

/** createGroup-2.lua */
export const CreateGroupReply = { Created: 1, IdTaken: 0 } as const;

/** removeMember-2.lua */
export const RemoveMemberReply = { Removed: 1, NotAMember: 0 } as const;

/** addMembers-2.lua: the first element (`{Added, identities...}` or `{code}`). */
export const AddMembersReply = { Added: 1, Limit: -1, NotReady: -2 } as const;

/** setGroupName-1.lua */
export const SetGroupNameReply = { Named: 1, NotReady: 0 } as const;

/** sessionGate-3.lua */
export const SessionGateReply = {
  Active: 'active',
  Revoked: 'revoked',
  Unknown: 'unknown',
  Expired: 'expired',
  Locked: 'locked',
} as const;
export type SessionGateReply = ValueOf<typeof SessionGateReply>;

/** rotateRefresh-3.lua: the first element of `{status, epoch?, deviceEpoch?, exp?}`. */
export const RotateRefreshReply = {
  Rotated: 'rotated',
  Reused: 'reused',
  Unknown: 'unknown',
  Expired: 'expired',
  Ended: 'ended',
  Locked: 'locked',
  Revoked: 'revoked',
} as const;
export type RotateRefreshReply = ValueOf<typeof RotateRefreshReply>;

/** appendRecordVersion-7.lua: the first element of `{code, json}`. */
export const AppendRecordVersionReply = { Created: 1, Existing: 2, Conflict: 0, PointerTaken: -1 } as const;

/** feedNotifyGate-3.lua: the first element of `{code, seq | ms}`. */
export const FeedNotifyGateReply = { WriteNow: 0, Held: 1, Covered: -1 } as const;

/** createOpaqueAccount-2.lua */
export const CreateOpaqueAccountReply = { Created: 1, IdentityTaken: 0 } as const;

/** consumeBootstrapCode-1.lua */
export const ConsumeBootstrapCodeReply = { Consumed: 1, NoMatch: 0 } as const;

/** auditSeal-3.lua: one of these, else the new head seq (> 0). */
export const AuditSealReply = { Raced: -1, ChainCorrupt: -2 } as const;
/** auditDropOldest-2.lua: one of these, else the new anchor seq (> 0). */
export const AuditDropReply = { Raced: -1, ChainCorrupt: -2 } as const;

/** recordUploadParts-2.lua */
export const RecordUploadPartsReply = { Recorded: 1, NotOpen: -1, OverSize: -2 } as const;

/** forgetObjects-6.lua: a positive count = forgotten with their receipt. */
export const ForgetObjectsReply = { NoneIndexed: 0, Partly: -1 } as const;

/** expireRecordVersions-7.lua: n >= 0 applied, else why nothing changed. */
export const ExpireRecordVersionsReply = { Moved: -1, Changed: -2, IntentPending: -3, LiveHead: -4 } as const;

/** commitRecordsRetention-4.lua. */
export const CommitRecordsRetentionReply = { Committed: 1, NoIntent: 0 } as const;
/** finishIdentityDeletion-2.lua */
export const FinishIdentityDeletionReply = { Finished: 1, NotRunning: 0 } as const;
/** withdrawPointer-7.lua */
export const WithdrawPointerReply = { Withdrawn: 1, Already: 0, Missing: -1, AcksChanged: -2 } as const;

/** tombstoneGroup-2.lua */
export const TombstoneGroupReply = { Tombstoned: 1, NotReady: 0 } as const;

/** finishGroupDeletion-3.lua */
export const FinishGroupDeletionReply = { Finished: 1, NotDeleting: 0 } as const;
