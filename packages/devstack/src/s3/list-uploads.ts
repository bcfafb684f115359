/** ListMultipartUploads' page selection and answer, as S3 gives them. */
import type { OpenUpload } from './multipart-store.js';
import { S3_XMLNS, tag, xmlDocument } from './s3-xml.js';

export interface ListUploadsQuery {
  prefix: string;
  keyMarker: string;
  /** Only with keyMarker: the page starts after this upload of that key (S3 ignores it otherwise). */
  uploadIdMarker: string;
  maxUploads: number;
}

/**
 * Uploads sorted by key then initiation (MultipartStore.listUploads): the page after the markers.
 * S3: with only a key marker, uploads of keys after it; with an upload-id marker too, the uploads
 * of the marker's key after that upload, then later keys.
 */
export function selectUploads(
  uploads: readonly OpenUpload[],
  query: ListUploadsQuery,
): {
  page: OpenUpload[];
  truncated: boolean;
} {
  const { keyMarker, uploadIdMarker } = query;
  const markerAt =
    keyMarker && uploadIdMarker ? uploads.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker) : -1;
  const after = uploads.filter((u, i) => {
    if (!u.key.startsWith(query.prefix)) return false;
    if (!keyMarker) return true;
    if (u.key > keyMarker) return true;
    if (u.key !== keyMarker || uploadIdMarker === '') return false;
    // A marker upload no longer open (completed, aborted): S3's documented rule, upload ids after it.
    return markerAt >= 0 ? i > markerAt : u.uploadId > uploadIdMarker;
  });
  return { page: after.slice(0, query.maxUploads), truncated: after.length > query.maxUploads };
}

export function listUploadsXml(bucket: string, uploads: readonly OpenUpload[], query: ListUploadsQuery): string {
  const { page, truncated } = selectUploads(uploads, query);
  const last = page.at(-1);
  const items = page
    .map(
      (u) =>
        `<Upload>${tag('Key', u.key)}${tag('UploadId', u.uploadId)}` +
        '<Initiator><ID>S3RVER</ID><DisplayName>S3rver</DisplayName></Initiator>' +
        '<Owner><ID>S3RVER</ID><DisplayName>S3rver</DisplayName></Owner>' +
        `<StorageClass>STANDARD</StorageClass>${tag('Initiated', u.initiated.toISOString())}</Upload>`,
    )
    .join('');
  return xmlDocument(
    `<ListMultipartUploadsResult xmlns="${S3_XMLNS}">${tag('Bucket', bucket)}` +
      `${tag('KeyMarker', query.keyMarker)}${tag('UploadIdMarker', query.uploadIdMarker)}` +
      `${tag('NextKeyMarker', truncated ? last?.key : '')}${tag('NextUploadIdMarker', truncated ? last?.uploadId : '')}` +
      `${tag('Prefix', query.prefix)}${tag('MaxUploads', query.maxUploads)}` +
      `${tag('IsTruncated', String(truncated))}${items}</ListMultipartUploadsResult>`,
  );
}
