import {
  CONTAINER_HEADER_LENGTH,
  decryptBuffer,
  DEFAULT_SEGMENT_SIZE,
  encryptBuffer,
  headerDigest,
  padme,
} from '@conduit/shared';
import type { GroupId, RecordEnvelopeV1 } from '@conduit/shared';
import type { HttpClient } from '../api/http-client.js';
import { randomBytes } from '../util/random.js';
import { getObject, putObject } from './objects.js';
import type { Presigned } from './objects.js';
import type { JsonValue } from './replica.js';
import { parseValue } from './value-json.js';

type Content = NonNullable<RecordEnvelopeV1['content']>;

/** Encrypts a value into a fresh container under a fresh key and uploads it. */
export async function uploadValue(
  api: Pick<HttpClient, 'createUpload'>,
  groupId: GroupId,
  plain: Buffer,
): Promise<Content> {
  const contentKey = randomBytes(32);
  try {
    const paddedLength = padme(plain.length);
    const ciphertext = encryptBuffer(plain, {
      contentKey,
      segmentSize: DEFAULT_SEGMENT_SIZE,
      padToLength: paddedLength,
    });
    const put = await api.createUpload(groupId, { size: ciphertext.length });
    await putObject(put, ciphertext);
    return {
      objectId: put.objectId,
      key: contentKey.toString('base64'),
      headerSha256: headerDigest(ciphertext.subarray(0, CONTAINER_HEADER_LENGTH)).toString('hex'),
      plainLength: plain.length,
      paddedLength,
      segmentSize: DEFAULT_SEGMENT_SIZE,
    };
  } finally {
    contentKey.fill(0);
  }
}

/** Fetches a version's object (`size` bytes stored), checks and decrypts it, and parses the value. */
export async function fetchValue(target: Presigned, size: number, content: Content): Promise<JsonValue> {
  const contentKey = Buffer.from(content.key, 'base64');
  try {
    const ciphertext = await getObject(target, size);
    const plain = decryptBuffer(ciphertext, {
      contentKey,
      plainLength: content.plainLength,
      paddedLength: content.paddedLength,
      headerDigest: Buffer.from(content.headerSha256, 'hex'),
    });
    try {
      return parseValue(plain);
    } finally {
      plain.fill(0);
    }
  } finally {
    contentKey.fill(0);
  }
}
