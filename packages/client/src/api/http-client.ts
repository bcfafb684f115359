import {
  IdentityDeletionReport,
  type DeleteIdentityRequest,
  AckResponse,
  AnomalyRecorded,
  API_PREFIX,
  CompletedUpload,
  ConduitError,
  DEVICE_HEADER,
  DeviceList,
  DeviceResponse,
  errorFromBody,
  FEED_PAGE_SIZE,
  FeedPage,
  GroupList,
  GroupRetentionView,
  GroupView,
  KeyTransitionList,
  RetiredCardList,
  MAX_RECORD_BATCH_ITEMS,
  MAX_RECORD_ENVELOPE_CHARS,
  MemberDeviceList,
  MultipartUpload,
  PointerRegistration,
  PointerStatus,
  PointerWithdrawn,
  GroupDeleting,
  PresignedParts,
  PresignedUrl,
  RecordBatchResult,
  RecordHistory,
  RecordVersion,
  RecordWrite,
  SessionResponse,
  LogoutResponse,
  type RefreshSessionRequest,
  SyncTokenResponse,
  VirgilTokenResponse,
} from '@conduit/shared';
import { fixedSession, type SessionSource } from '../session/session-source.js';
import type {
  AckRequest,
  AddMembersRequest,
  AnomalyReport,
  CompleteMultipartRequest,
  CreateGroupRequest,
  CreateMultipartRequest,
  CreateUploadRequest,
  DeviceId,
  GroupId,
  GroupRetentionPolicy,
  Identity,
  KeyTransition,
  LoginRequest,
  ObjectId,
  PointerId,
  PresignPartsRequest,
  PutRecordBatchRequest,
  PutRecordVersionRequest,
  RecordId,
  RegisterPointerRequest,
  SetNameRequest,
  UploadId,
} from '@conduit/shared';
import { fetchJson, readJson } from './http-body.js';

/** Anything with zod's `safeParse` shape: the shared schemas, without a direct zod dependency here. */
export interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

export interface HttpClientOptions {
  /** Base URL of the Conduit server, e.g. `http://127.0.0.1:8080` (the `/v1` prefix is added here). */
  baseUrl: string;
  timeoutMs?: number;
  /** Every API response is small JSON; anything larger is a faulty or hostile server. */
  maxResponseBytes?: number;
}

interface RequestOptions {
  body?: unknown;
  /** Send the session token and the Conduit-Device header (default true). */
  auth?: boolean;
  /** Response bound for routes that answer with pages (default: the client's maxResponseBytes). */
  maxResponseBytes?: number;
}

/** A feed page or a record's history: every entry carries an envelope and, in the feed, a URL. */
const MAX_VERSION_JSON_BYTES = MAX_RECORD_ENVELOPE_CHARS + 4096;
const MAX_RECORD_HISTORY_ENTRIES = 1000;

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;

/** Typed client for the Conduit HTTP API: one method per route, responses validated with the shared schemas. */
export class HttpClient {
  private readonly baseUrl: URL;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private session: SessionSource | undefined;
  private deviceId: string | undefined;

  constructor(opts: HttpClientOptions) {
    let base: URL;
    try {
      base = new URL(opts.baseUrl);
    } catch {
      throw new ConduitError('CONFIG', 'The server URL is not a valid URL.');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new ConduitError('CONFIG', 'The server URL must use http or https.');
    }
    this.baseUrl = base;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** Where bearer tokens come from (undefined: logged out); a 401 asks it to renew, once per request. */
  setSessionSource(source: SessionSource | undefined): void {
    this.session = source;
  }

  /** A fixed bearer token, never renewed (undefined: logged out). */
  setSession(token: string | undefined): void {
    this.session = token === undefined ? undefined : fixedSession(token);
  }

  /**
   * The endpoint named in the `Conduit-Device` header of authenticated requests: required by
   * servers in OIDC mode; a dev session is bound to its device and the header must match it.
   */
  setDevice(deviceId: DeviceId | undefined): void {
    this.deviceId = deviceId;
  }

  /** The pre-OPAQUE login, only to migrate an old account (auth/opaque-client.ts, docs/identity.md). */
  login(req: LoginRequest): Promise<SessionResponse> {
    return this.request('POST', '/auth/login', SessionResponse, { body: req, auth: false });
  }

  /**
   * One step of an OPAQUE flow: POST /auth/opaque/<step>, unauthenticated (docs/api.md). The
   * schema of the answer comes with the step (auth/opaque-client.ts); 204 steps pass NO_CONTENT.
   */
  opaqueStep<T>(step: string, body: unknown, schema: Schema<T> = NO_CONTENT as Schema<T>): Promise<T> {
    return this.request('POST', `/auth/opaque/${step}`, schema, { body, auth: false });
  }

  /** Trades this device's refresh token for a new session and the next refresh token (dev auth mode). */
  refreshSession(req: RefreshSessionRequest): Promise<SessionResponse> {
    return this.request('POST', '/session/refresh', SessionResponse, { body: req, auth: false });
  }

  /** Enrolls this client's own device (the path must name the device of the session). */
  registerDevice(deviceId: DeviceId): Promise<DeviceResponse> {
    return this.request('PUT', `/devices/${seg(deviceId)}`, DeviceResponse, { body: {} });
  }

  listDevices(): Promise<DeviceList> {
    return this.request('GET', '/devices', DeviceList);
  }

  /** Ends every session of this device at the server (`ended` false for an identity provider's token). */
  logout(): Promise<LogoutResponse> {
    return this.request('DELETE', '/session', LogoutResponse);
  }

  /**
   * Revokes one of the caller's devices for good: its sessions are refused from then on and the
   * server drops its pending acknowledgements (idempotent).
   */
  async revokeDevice(deviceId: DeviceId): Promise<void> {
    await this.request('DELETE', `/devices/${seg(deviceId)}`, NO_CONTENT);
  }

  /** Deletes the caller's identity: the request carries a fresh login proof (docs/lifecycle.md). */
  deleteIdentity(req: DeleteIdentityRequest): Promise<IdentityDeletionReport> {
    return this.request('DELETE', '/identity', IdentityDeletionReport, { body: req });
  }

  /** Names one of the caller's active devices (404 DEVICE_NOT_FOUND otherwise). */
  async setDeviceName(deviceId: DeviceId, req: SetNameRequest): Promise<void> {
    await this.request('PUT', `/devices/${seg(deviceId)}/name`, NO_CONTENT, { body: req });
  }

  /** Owner only: replaces the group's sealed name. */
  async setGroupName(groupId: GroupId, req: SetNameRequest): Promise<void> {
    await this.request('PUT', `/groups/${seg(groupId)}/name`, NO_CONTENT, { body: req });
  }

  /** Publishes a key-transition statement about the caller (docs/identity.md). */
  async putKeyTransition(transition: KeyTransition): Promise<void> {
    await this.request('PUT', '/identities/me/key-transitions', NO_CONTENT, { body: transition });
  }

  /** An identity's published key-transition statements, oldest first. */
  keyTransitions(identity: Identity): Promise<KeyTransitionList> {
    return this.request('GET', `/identities/${seg(identity)}/key-transitions`, KeyTransitionList);
  }

  /** A deleted identity's cards as the directory published them (IDENTITY_NOT_FOUND: none kept). */
  retiredCards(identity: Identity): Promise<RetiredCardList> {
    return this.request('GET', `/identities/${seg(identity)}/retired-cards`, RetiredCardList);
  }

  virgilToken(): Promise<VirgilTokenResponse> {
    return this.request('GET', '/tokens/virgil', VirgilTokenResponse);
  }

  syncToken(): Promise<SyncTokenResponse> {
    return this.request('GET', '/tokens/sync', SyncTokenResponse);
  }

  createGroup(req: CreateGroupRequest): Promise<GroupView> {
    return this.request('POST', '/groups', GroupView, { body: req });
  }

  getGroup(groupId: GroupId): Promise<GroupView> {
    return this.request('GET', `/groups/${seg(groupId)}`, GroupView);
  }

  listGroups(): Promise<GroupList> {
    return this.request('GET', '/groups', GroupList);
  }

  addMembers(groupId: GroupId, req: AddMembersRequest): Promise<GroupView> {
    return this.request('POST', `/groups/${seg(groupId)}/members`, GroupView, { body: req });
  }

  /** The owner removes a member, or a member leaves (idempotent for both). */
  async removeMember(groupId: GroupId, identity: Identity): Promise<void> {
    await this.request('DELETE', `/groups/${seg(groupId)}/members/${seg(identity)}`, NO_CONTENT);
  }

  /** The group's own retention rules and, per class, the one in effect and where it comes from. */
  groupRetention(groupId: GroupId): Promise<GroupRetentionView> {
    return this.request('GET', `/groups/${seg(groupId)}/retention`, GroupRetentionView);
  }

  /** Owner only: replaces the group's retention rules (`{}`: the deployment's for both classes). */
  setGroupRetention(groupId: GroupId, policy: GroupRetentionPolicy): Promise<GroupRetentionView> {
    return this.request('PUT', `/groups/${seg(groupId)}/retention`, GroupRetentionView, { body: policy });
  }

  createMultipartUpload(groupId: GroupId, req: CreateMultipartRequest): Promise<MultipartUpload> {
    return this.request('POST', `/groups/${seg(groupId)}/uploads`, MultipartUpload, { body: req });
  }

  /** The upload if it can still be resumed; NOT_FOUND once it completed, expired or was aborted. */
  getMultipartUpload(groupId: GroupId, uploadId: UploadId): Promise<MultipartUpload> {
    return this.request('GET', uploadPath(groupId, uploadId), MultipartUpload);
  }

  presignParts(groupId: GroupId, uploadId: UploadId, req: PresignPartsRequest): Promise<PresignedParts> {
    return this.request('POST', `${uploadPath(groupId, uploadId)}/parts`, PresignedParts, { body: req });
  }

  completeMultipartUpload(
    groupId: GroupId,
    uploadId: UploadId,
    req: CompleteMultipartRequest,
  ): Promise<CompletedUpload> {
    return this.request('POST', `${uploadPath(groupId, uploadId)}/complete`, CompletedUpload, { body: req });
  }

  async abortMultipartUpload(groupId: GroupId, uploadId: UploadId): Promise<void> {
    await this.request('DELETE', uploadPath(groupId, uploadId), NO_CONTENT);
  }

  /** A presigned single PUT for a new object of exactly `size` bytes (small objects: records). */
  createUpload(groupId: GroupId, req: CreateUploadRequest): Promise<PresignedUrl> {
    return this.request('POST', `/groups/${seg(groupId)}/objects`, PresignedUrl, { body: req });
  }

  /** A new version of a record; RECORD_CONFLICT (details.head) when its parent is not the head. */
  putRecordVersion(groupId: GroupId, recordId: RecordId, req: PutRecordVersionRequest): Promise<RecordWrite> {
    return this.request('POST', `${recordPath(groupId, recordId)}/versions`, RecordWrite, { body: req });
  }

  /**
   * Up to MAX_RECORD_BATCH_ITEMS versions in one request, appended in order; one result per item
   * (created, existing, conflict with the head, or failed with a code).
   */
  putRecordBatch(groupId: GroupId, req: PutRecordBatchRequest): Promise<RecordBatchResult> {
    return this.request('POST', `/groups/${seg(groupId)}/record-versions`, RecordBatchResult, {
      body: req,
      maxResponseBytes: MAX_RECORD_BATCH_ITEMS * MAX_VERSION_JSON_BYTES,
    });
  }

  /** The record's head version (RECORD_NOT_FOUND when it has none). */
  recordHead(groupId: GroupId, recordId: RecordId): Promise<RecordVersion> {
    return this.request('GET', recordPath(groupId, recordId), RecordVersion);
  }

  recordHistory(groupId: GroupId, recordId: RecordId): Promise<RecordHistory> {
    return this.request('GET', `${recordPath(groupId, recordId)}/versions`, RecordHistory, {
      maxResponseBytes: MAX_RECORD_HISTORY_ENTRIES * MAX_VERSION_JSON_BYTES,
    });
  }

  /** One page of the group's durable feed: the versions after `afterSeq`, oldest first. */
  recordFeed(groupId: GroupId, afterSeq: number): Promise<FeedPage> {
    return this.request('GET', `/groups/${seg(groupId)}/feed/${afterSeq}`, FeedPage, {
      maxResponseBytes: FEED_PAGE_SIZE * MAX_VERSION_JSON_BYTES,
    });
  }

  createDownload(groupId: GroupId, objectId: ObjectId): Promise<PresignedUrl> {
    return this.request('GET', `/groups/${seg(groupId)}/objects/${seg(objectId)}`, PresignedUrl);
  }

  registerPointer(groupId: GroupId, req: RegisterPointerRequest): Promise<PointerRegistration> {
    return this.request('POST', `/groups/${seg(groupId)}/pointers`, PointerRegistration, { body: req });
  }

  /** Sends this endpoint's signed receipt: only after the content was decrypted and verified. */
  ack(pointerId: PointerId, receipt: AckRequest): Promise<AckResponse> {
    return this.request('POST', `/pointers/${seg(pointerId)}/ack`, AckResponse, { body: receipt });
  }

  pointerStatus(pointerId: PointerId): Promise<PointerStatus> {
    return this.request('GET', `/pointers/${seg(pointerId)}`, PointerStatus);
  }

  /** The owner deletes the group (202: the server's worker finishes it). */
  deleteGroup(groupId: GroupId): Promise<GroupDeleting> {
    return this.request('DELETE', `/groups/${seg(groupId)}`, GroupDeleting);
  }

  /** The sender or the group owner withdraws the file (idempotent). */
  withdrawPointer(pointerId: PointerId): Promise<PointerWithdrawn> {
    return this.request('DELETE', `/pointers/${seg(pointerId)}`, PointerWithdrawn);
  }

  reportAnomaly(groupId: GroupId, report: AnomalyReport): Promise<AnomalyRecorded> {
    return this.request('POST', `/groups/${seg(groupId)}/anomalies`, AnomalyRecorded, { body: report });
  }

  /** Asks the server to restore the group's Sync map or this member's read grant (204). */
  async restoreGroupSync(groupId: GroupId): Promise<void> {
    await this.request('POST', `/groups/${seg(groupId)}/sync`, NO_CONTENT);
  }

  memberDevices(groupId: GroupId, identity: Identity): Promise<MemberDeviceList> {
    return this.request('GET', `/groups/${seg(groupId)}/members/${seg(identity)}/devices`, MemberDeviceList);
  }

  private async request<T>(method: string, path: string, schema: Schema<T>, opts: RequestOptions = {}): Promise<T> {
    let bearer: string | undefined;
    if (opts.auth !== false) {
      bearer = await this.session?.bearer();
      if (!bearer) throw new ConduitError('UNAUTHENTICATED', 'Not logged in.');
    }
    let res = await this.send(method, path, opts.body, bearer);
    if (bearer && res.status === 401) {
      // Expired or ended (clocks apart, a renewal raced): renew once and resend. A 401 comes
      // from authentication, before any side effect, so resending is safe for every method.
      const refused = res;
      const renewed = await this.session?.renew(bearer).catch(async (err: unknown) => {
        await refused.body?.cancel();
        throw err;
      });
      if (renewed && renewed !== bearer) {
        await refused.body?.cancel();
        res = await this.send(method, path, opts.body, renewed);
      }
    }
    const json = await readJson(res, opts.maxResponseBytes ?? this.maxResponseBytes);
    if (!res.ok) throw errorFromBody(res.status, json);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ConduitError('TRANSPORT', `Malformed response from ${method} ${API_PREFIX}${path}.`);
    }
    return parsed.data;
  }

  private async send(method: string, path: string, body: unknown, bearer: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (bearer) {
      headers.authorization = `Bearer ${bearer}`;
      if (this.deviceId) headers[DEVICE_HEADER] = this.deviceId;
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = new URL(this.baseUrl.pathname.replace(/\/$/, '') + API_PREFIX + path, this.baseUrl);
    return fetchJson(url, { method, headers, body, timeoutMs: this.timeoutMs });
  }
}

/** 204 responses: nothing to parse. */
const NO_CONTENT: Schema<undefined> = { safeParse: () => ({ success: true, data: undefined }) };

const uploadPath = (groupId: GroupId, uploadId: UploadId): string => `/groups/${seg(groupId)}/uploads/${seg(uploadId)}`;
const recordPath = (groupId: GroupId, recordId: RecordId): string => `/groups/${seg(groupId)}/records/${seg(recordId)}`;
const seg = (value: string): string => encodeURIComponent(value);
