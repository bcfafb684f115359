/**
 * Ciphertext transfer straight to and from object storage with presigned URLs (the server never
 * sees it). Both directions keep memory constant: a part's body is pulled only as fast as it is
 * sent, and a range's response only as fast as it is consumed. Errors carry the status only:
 * storage error bodies can echo the URL's signature. Node's: node/http-storage.ts.
 */
export interface PresignedTarget {
  url: string;
  headers: Record<string, string>;
}

export interface ObjectStorage {
  /**
   * PUTs one part, streamed, with an exact Content-Length; returns the ETag storage assigned to it.
   * `body` may reuse a chunk's memory once the next chunk is pulled; a failure of `body` itself
   * (reading the source) is rethrown as is, never as a network error.
   */
  putPart(
    target: PresignedTarget,
    body: AsyncIterable<Uint8Array>,
    length: number,
    signal?: AbortSignal,
  ): Promise<string>;
  /**
   * Starts a ranged GET of stored bytes [start, end), checked to be exactly that range of an object
   * of `objectSize` bytes.
   */
  getRange(
    target: PresignedTarget,
    start: number,
    end: number,
    objectSize: number,
    signal?: AbortSignal,
  ): Promise<AsyncIterable<Uint8Array>>;
}
