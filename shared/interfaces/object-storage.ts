/**
 * The object storage interface: what S3, Azure Blob, Google Cloud Storage and any S3-compatible store
 * offer in common. Workflows and other code program against this, not against one provider.
 */
import type {
  CopyObjectInput,
  CopyObjectOutput,
  DeleteObjectInput,
  DeleteObjectOutput,
  GetObjectInput,
  GetObjectOutput,
  HeadObjectOutput,
  ListObjectsInput,
  ListObjectsOutput,
  ObjectRef,
  PresignUrlInput,
  PresignUrlOutput,
  PutObjectInput,
  PutObjectOutput,
} from '../models/object-storage.ts';
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities: `presign` (time-limited URLs, and the presigned answer of `getObject` for objects
 * over `maxBytes`), `copy` (server-side copy), `metadata` (user metadata stored and returned),
 * `conditional-write` (`putObject` with `onlyIfAbsent` decided by the store in one request: S3's
 * `If-None-Match: *`, Azure's `If-None-Match: *`, GCS's `ifGenerationMatch=0`; a store without it refuses
 * `onlyIfAbsent` with `NotSupportedError` rather than check-then-write, which two writers would race).
 */
export type ObjectStorageCapability = 'presign' | 'copy' | 'metadata' | 'conditional-write';

/**
 * One object store. Every method validates its input (throwing `ValidationError`) and fails only with
 * the core error taxonomy: `NotFoundError` for a missing object or bucket, `ForbiddenError` for a bucket
 * outside the allowed ones or refused by the provider, `RateLimitedError`/`UnavailableError`/
 * `TimeoutError` for transient trouble, `UnexpectedResponseError` for answers it cannot read, and
 * `NotSupportedError` for a capability it lacks.
 *
 * Guaranteed by every store, where S3, Azure Blob and Google Cloud Storage differ underneath (the
 * conformance suite checks each point):
 * - keys follow `ObjectKey` (`shared/models/object-storage.ts`), the rules all three accept; a listing is in
 *   key order (UTF-8 byte order on all three) and a `continuationToken` is opaque and store-specific;
 * - metadata names are lower-case identifiers and come back lower-case (S3 lower-cases them, Azure keeps
 *   the case it was given but compares without it, GCS keeps case), values printable ASCII;
 * - `delimiter` is any text of 1-16 characters; every store groups on it the same way (`commonPrefixes`
 *   end with it); every key and prefix comes once across the pages, and a page holds at most `maxKeys`
 *   objects (S3, Azure and GCS count prefixes toward it too; s3rver counts objects only);
 * - `onlyIfAbsent` (capability `conditional-write`) is decided atomically by the store: of two writers of
 *   one absent key exactly one wins, the other gets `ConflictError` and the object is the winner's (S3 may
 *   first answer the other 409 ConditionalRequestConflict, "retry the upload": that is a retryable
 *   `UnavailableError`, and the retry gets the `ConflictError`);
 * - a copy (capability `copy`) is server-side and keeps the source's media type and metadata unless the
 *   input replaces them. Replacing them is one request on S3 and GCS and two on Azure (copy, then Set
 *   Blob Properties/Metadata), so on Azure a reader may briefly see the copy with the source's values;
 * - a presigned PUT URL (capability `presign`) works with the `headers` it is answered with (Azure needs
 *   `x-ms-blob-type`); S3 and GCS sign `contentType` into the URL, Azure's SAS cannot, so there it is
 *   a header to send, not a constraint on the uploader.
 *
 * @example
 * ```ts
 * async function archive(store: ObjectStorage, key: string): Promise<void> {
 *   await store.copyObject({ sourceKey: key, key: `archive/${key}` });
 *   await store.deleteObject({ key });
 * }
 * ```
 */
export interface ObjectStorage extends HasCapabilities<ObjectStorageCapability> {
  /** Stores an object (text or base64), replacing any object under the key unless `onlyIfAbsent`. */
  putObject(input: PutObjectInput): Promise<PutObjectOutput>;
  /**
   * Reads an object: inline when it fits `maxBytes`, else `{ tooLarge: true, url, expiresIn }` with a
   * presigned GET URL (stores without `presign` throw `NotSupportedError` instead).
   */
  getObject(input: GetObjectInput): Promise<GetObjectOutput>;
  /** Size, media type, entity tag and metadata of an object, without its body. */
  headObject(input: ObjectRef): Promise<HeadObjectOutput>;
  /** One page of keys in key order, optionally under a prefix and grouped by a delimiter. */
  listObjects(input: ListObjectsInput): Promise<ListObjectsOutput>;
  /** Removes an object; removing a missing object succeeds. */
  deleteObject(input: DeleteObjectInput): Promise<DeleteObjectOutput>;
  /** Server-side copy (capability `copy`). */
  copyObject(input: CopyObjectInput): Promise<CopyObjectOutput>;
  /** A time-limited URL to download (GET) or upload (PUT) one object (capability `presign`). */
  presignUrl(input: PresignUrlInput): Promise<PresignUrlOutput>;
}
