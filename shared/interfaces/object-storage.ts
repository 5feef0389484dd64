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
 * over `maxBytes`), `copy` (server-side copy), `metadata` (user metadata stored and returned).
 */
export type ObjectStorageCapability = 'presign' | 'copy' | 'metadata';

/**
 * One object store. Every method validates its input (throwing `ValidationError`) and fails only with
 * the core error taxonomy: `NotFoundError` for a missing object or bucket, `ForbiddenError` for a bucket
 * outside the allowed ones or refused by the provider, `RateLimitedError`/`UnavailableError`/
 * `TimeoutError` for transient trouble, `UnexpectedResponseError` for answers it cannot read, and
 * `NotSupportedError` for a capability it lacks.
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
