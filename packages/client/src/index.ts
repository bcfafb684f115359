export { ConduitClient } from './conduit-client.js';
export type {
  ConduitClientOptions,
  ReceiveOptions,
  ReceiveTransferOptions,
  SendOptions,
  SentFile,
} from './conduit-client.js';
export type { ReceivedFile } from './receive-pointer.js';
export type { ResumeMode, UploadOptions } from './transfer/upload.js';
export type { ProgressListener, TransferPhase, TransferProgress } from './transfer/progress.js';
export { HttpClient } from './api/http-client.js';
export type { HttpClientOptions } from './api/http-client.js';
export { sanitizeFileName } from './files/file-name.js';
