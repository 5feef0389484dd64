/**
 * S3's limit on user-defined metadata, which s3rver does not enforce. AWS S3 User Guide, "Working with
 * object metadata" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html): "Within the
 * PUT request header, the user-defined metadata is limited to 2 KB in size. The size of user-defined
 * metadata is measured by taking the sum of the number of bytes in the UTF-8 encoding of each key and
 * value." A key is the name after `x-amz-meta-` (what the SDK's `Metadata` map holds; measured against AWS,
 * the prefix does not count), and a request over the limit is a 400 `MetadataTooLarge` ("Your metadata
 * headers exceed the maximum allowed metadata size", with `Size` and `MaxSizeAllowed`), on PutObject,
 * CopyObject with `x-amz-metadata-directive: REPLACE`, and CreateMultipartUpload. Without this a
 * connector's metadata passes on the laptop and fails on AWS.
 *
 * It wraps s3rver's own controller functions, as `s3rver-conditions.ts` does: its router calls them through
 * the module's exports, and its error type renders S3's XML error body with the right status.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** S3's limit: 2 KB of user-defined metadata keys and values. */
export const MAX_USER_METADATA_BYTES = 2048;

const PREFIX = 'x-amz-meta-';

/**
 * The size S3 measures of a request's user-defined metadata: the UTF-8 bytes of each key (without
 * `x-amz-meta-`) and value. Node gives header values as latin1 (one character per byte received), so a
 * value's byte count is its length in latin1.
 *
 * @example
 * ```ts
 * userMetadataBytes({ 'x-amz-meta-owner': 'finance', 'content-type': 'text/plain' }); // 12
 * ```
 */
export function userMetadataBytes(headers: Record<string, string | string[] | undefined>): number {
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || !name.toLowerCase().startsWith(PREFIX)) continue;
    size += Buffer.byteLength(name.slice(PREFIX.length), 'latin1');
    size += Buffer.byteLength(Array.isArray(value) ? value.join(',') : value, 'latin1');
  }
  return size;
}

interface MetadataContext {
  headers: Record<string, string | string[] | undefined>;
}
type Controller = (ctx: MetadataContext) => Promise<void>;
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;

/**
 * Makes s3rver's PutObject, CopyObject (when it replaces the metadata) and CreateMultipartUpload refuse
 * more than 2 KB of user-defined metadata as S3 does. Call it once in the process that runs s3rver, before
 * it serves.
 *
 * @example
 * ```ts
 * limitUserMetadata();
 * const server = new S3rver(options);
 * ```
 */
export function limitUserMetadata(): void {
  const controllers = require('s3rver/lib/controllers/object') as Record<string, Controller>;
  const S3Error = require('s3rver/lib/models/error') as S3ErrorClass;
  for (const name of ['putObject', 'putObjectCopy', 'initiateMultipartUpload']) {
    const original = controllers[name];
    if (original === undefined) throw new Error(`s3rver has no ${name} controller: metadata limit not wired`);
    controllers[name] = async (ctx) => {
      // A copy that keeps the source's metadata (COPY, the default) sends none of its own.
      const directive = ctx.headers['x-amz-metadata-directive'];
      const replaces = name !== 'putObjectCopy' || directive === 'REPLACE';
      const size = replaces ? userMetadataBytes(ctx.headers) : 0;
      if (size > MAX_USER_METADATA_BYTES) {
        throw new S3Error(
          'MetadataTooLarge',
          'Your metadata headers exceed the maximum allowed metadata size',
          {
            Size: String(size),
            MaxSizeAllowed: String(MAX_USER_METADATA_BYTES),
          },
        );
      }
      await original(ctx);
    };
  }
}
