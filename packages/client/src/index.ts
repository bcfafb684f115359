export { ConduitClient } from './conduit-client.js';
// The one error class the SDK throws, and its codes (defined with the wire formats in @conduit/shared).
export { ConduitError, ErrorCodes, isErrorCode } from '@conduit/shared';
// OIDC mode: the identity of an identity provider's `sub` (docs/identity.md).
export { identityFromSubject } from '@conduit/shared';
export type { ErrorCode } from '@conduit/shared';
export type {
  ConduitClientOptions,
  ReceiveOptions,
  ReceiveTransferOptions,
  SendOptions,
  SentFile,
} from './conduit-client.js';
export type { ReceivedFile } from './receive-pointer.js';
export type { LogoutResult } from './identity/account.js';
export type { IdTokenProvider } from './session/id-token-source.js';
export type { DeliveryStatus, EndpointDelivery, ReceiptCheck } from './delivery/status.js';
export type { CardOf } from './virgil/receipts.js';
export type { ResumeMode, UploadOptions } from './transfer/upload.js';
export type { ProgressListener, TransferPhase, TransferProgress } from './transfer/progress.js';
export type { Platform, PlatformFiles } from './platform/platform.js';
export { nodePlatform } from './platform/node.js';
export { HttpClient } from './api/http-client.js';
export type { HttpClientOptions } from './api/http-client.js';
export { sanitizeFileName } from './files/file-name.js';
export { prepareOutDir } from './platform/node/out-dir.js';
export {
  PARTIAL_MAX_AGE_MS,
  removeAbandonedPartials,
  removeOrphanCheckpoints,
} from './platform/node/partial-cleanup.js';
export { EncryptedKeyStore } from './platform/node/key-store.js';
export { RecordsClient } from './records/records-client.js';
export { MAX_MERGE_ATTEMPTS } from './records/writer.js';
export type { MergeFn, PutOptions } from './records/writer.js';
export type { RecordsOptions } from './records/group-records.js';
export type { JsonValue, RecordEntry } from './records/replica.js';
export { deriveRecordId, MAX_RECORD_KEY_BYTES } from './records/record-id.js';
export { fingerprintDigits, groupDigits, safetyNumber } from './trust/safety-number.js';
export type { ConfirmTrust, SafetyNumberReport, TrustReport } from './trust/verification.js';
export type { NamedDevice } from './names/names.js';
export { parseName } from './names/sealed-name.js';
export type { NameCipher, OpenedName } from './names/sealed-name.js';
export { downloadAuditLog, verifyAuditFromServer } from './audit/verify.js';
export type { AuditDownload } from './audit/verify.js';
export { buildAuditExport, exportAuditFromServer } from './audit/export.js';
export type { AuditExport, AuditExportHeader, AuditSince } from './audit/export.js';
export { exportAuditFile, verifyAuditFile } from './platform/node/audit-file.js';
export { LocalState } from './state/local-state.js';
export { ReceivedFiles } from './state/received-files.js';
export type { ReceivedFileEntry } from './state/received-files.js';
// Building blocks under the facade, for integrators (and adversary tests) that need one layer on its
// own: docs/sdk.md, "Building blocks".
export { openEThree, closeEThree } from './platform/node/e3kit.js';
export type { OpenEThreeOptions } from './platform/node/e3kit.js';
export { login, registerAccount } from './auth/opaque-client.js';
export { signKeyTransition } from './trust/key-transition.js';
export { sealName } from './names/sealed-name.js';
