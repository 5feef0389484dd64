/**
 * The zod models of the object storage interface (S3, Azure Blob, Google Cloud Storage, ...): the inputs
 * and outputs of put, get, head, list, delete, copy and presign. Provider connectors reuse these in their
 * operation schemas and may extend them with provider-only fields.
 * Input objects are strict (`z.strictObject`, kept by `.extend()`): a misspelled or unknown field is refused
 * with a 400 naming it instead of being dropped; `test/hardening/strict-inputs.test.ts` checks every input.
 */
import * as z from 'zod';
import { safePath, WellFormedText } from './paths.ts';

/**
 * The largest body `get-object` may return inline: base64 grows it by 4/3, and a synchronous Lambda
 * response is capped at 6 MB, so 4 MiB is the most that still fits with room for the envelope.
 */
export const MAX_INLINE_BYTES = 4_194_304;

/** Presigned URLs live at most seven days (SigV4's limit, which other stores share or exceed). */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;

/** Metadata is sent as HTTP headers; S3 caps all user metadata at 2 KB, the tightest of the stores. */
export const MAX_METADATA_BYTES = 2048;

/** A bucket (S3, GCS) or container (Azure) name: the rules all three accept. */
export const BucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    'expected a bucket name: 3-63 lower-case letters, digits, dots or hyphens',
  )
  .describe('Bucket (or container) name; defaults to the connector\'s configured bucket, e.g. "reports"');

/** S3's limit for keys and prefixes, the tightest of the stores (Azure allows 1024 characters). */
const MAX_KEY_BYTES = 1024;

function fitsKeyLength(value: string): boolean {
  return Buffer.byteLength(value, 'utf8') <= MAX_KEY_BYTES;
}

/**
 * An object key: 1-1024 bytes of UTF-8 under the safe path rules (`shared/models/paths.ts`): no `.` or `..`
 * segment, no leading `/` or `//`, no control characters, no lone surrogates. A trailing `/` is allowed:
 * zero-byte "folder" markers such as `photos/` are common in S3. Every store uses this one schema for
 * every key field, so a key cannot climb into another bucket on a store or proxy that normalises paths.
 */
export const ObjectKey = safePath('object-key')
  .min(1)
  .refine(fitsKeyLength, `expected at most ${MAX_KEY_BYTES} bytes of UTF-8`)
  .describe('Object key, e.g. "reports/2024/06/summary.csv"');

/**
 * A listing prefix: empty, or the start of a key under the same rules, so a prefix that names no key we
 * could have written (`../`, `a//`, `/`) is refused rather than handed to a store that may resolve it.
 */
export const KeyPrefix = safePath('key-prefix')
  .refine(fitsKeyLength, `expected at most ${MAX_KEY_BYTES} bytes of UTF-8`)
  .describe('Only keys starting with this, e.g. "reports/2024/"');

/** How a body travels in JSON: UTF-8 text as is, anything else as standard base64. */
export const BodyEncoding = z
  .enum(['utf8', 'base64'])
  .describe('How `body` is written: "utf8" for text, "base64" for binary data');
export type BodyEncoding = z.infer<typeof BodyEncoding>;

/**
 * User metadata: names are lower-case identifiers because S3 lower-cases them and Azure only accepts
 * C# identifiers (no hyphens); values are printable ASCII because they travel as HTTP header values.
 */
export const ObjectMetadata = z
  .record(
    z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,127}$/, 'expected a lower-case name of letters, digits and underscores'),
    z.string().regex(/^[\x20-\x7e]*$/, 'expected printable ASCII'),
  )
  .refine(
    (metadata) =>
      Object.entries(metadata).reduce((total, [name, value]) => total + name.length + value.length, 0) <=
      MAX_METADATA_BYTES,
    `expected at most ${MAX_METADATA_BYTES} bytes of metadata names and values`,
  )
  .describe('User metadata stored with the object, e.g. { "source": "billing" }');
export type ObjectMetadata = z.infer<typeof ObjectMetadata>;

const ContentType = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x20-\x7e]+$/, 'expected a media type')
  .describe('Media type, e.g. "text/csv" or "image/png"');

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Whether a string is canonical standard base64 (RFC 4648 section 4, padded). `Buffer.from(x, 'base64')`
 * silently skips bad characters, so a typo would otherwise store corrupted bytes.
 *
 * @example
 * ```ts
 * isBase64('aGk='); // true
 * isBase64('aGk'); // false (unpadded)
 * ```
 */
export function isBase64(value: string): boolean {
  return STANDARD_BASE64.test(value);
}

/** The fields of `put-object`'s input; providers extend these, then apply {@link checkBase64Body}. */
export const PutObjectFields = z.strictObject({
  bucket: BucketName.optional(),
  key: ObjectKey,
  body: z.string().describe('The object content: text, or base64 when `encoding` is "base64"'),
  encoding: BodyEncoding.default('utf8'),
  contentType: ContentType.optional().describe(
    'Media type; defaults to "text/plain; charset=utf-8" for utf8 bodies, "application/octet-stream" otherwise',
  ),
  metadata: ObjectMetadata.optional(),
  onlyIfAbsent: z
    .boolean()
    .default(false)
    .describe('When true, fail with ConflictError instead of overwriting an existing object'),
});

/**
 * The cross-field rule of `put-object`: a base64 body must be canonical base64 (reported at `/body`).
 *
 * @example
 * ```ts
 * const MyPutInput = PutObjectFields.extend({ tier: z.string() }).superRefine(checkBase64Body);
 * ```
 */
export function checkBase64Body(
  input: { body: string; encoding: BodyEncoding },
  context: z.RefinementCtx,
): void {
  if (input.encoding === 'base64' && !isBase64(input.body)) {
    context.addIssue({ code: 'custom', message: 'expected standard padded base64', path: ['body'] });
  }
}

/** Input of `put-object`. */
export const PutObjectInput = PutObjectFields.superRefine(checkBase64Body);
export type PutObjectInput = z.input<typeof PutObjectInput>;

/** Output of `put-object`. */
export const PutObjectOutput = z.object({
  bucket: z.string().describe('The bucket written to'),
  key: z.string().describe('The object key written'),
  size: z.number().int().nonnegative().describe('Bytes stored'),
  etag: z.string().optional().describe('Entity tag of the stored object (quotes removed)'),
  versionId: z.string().optional().describe('Version id, when the bucket keeps versions'),
});
export type PutObjectOutput = z.infer<typeof PutObjectOutput>;

/** Addresses one object. */
export const ObjectRef = z.strictObject({
  bucket: BucketName.optional(),
  key: ObjectKey,
});
export type ObjectRef = z.input<typeof ObjectRef>;

/** What head and get report about an object. */
export const ObjectInfo = z.object({
  bucket: z.string().describe('The bucket holding the object'),
  key: z.string().describe('The object key'),
  size: z.number().int().nonnegative().describe('Object size in bytes'),
  contentType: z.string().optional().describe('Stored media type'),
  etag: z.string().optional().describe('Entity tag (quotes removed)'),
  lastModified: z.string().optional().describe('When the object was last written, ISO 8601'),
  versionId: z.string().optional().describe('Version id, when the bucket keeps versions'),
  metadata: z.record(z.string(), z.string()).describe('User metadata (names lower-cased)'),
});
export type ObjectInfo = z.infer<typeof ObjectInfo>;

/** Input of `get-object`. */
export const GetObjectInput = ObjectRef.extend({
  encoding: BodyEncoding.optional().describe(
    'How to return the body; by default text media types come back as utf8, everything else as base64',
  ),
  maxBytes: z
    .number()
    .int()
    .min(0)
    .max(MAX_INLINE_BYTES)
    .optional()
    .describe(
      'Largest object returned inline; larger ones are answered with a presigned URL. Defaults to the connector setting',
    ),
});
export type GetObjectInput = z.input<typeof GetObjectInput>;

/** `get-object` when the object fits: the body inline. */
export const InlineObject = ObjectInfo.extend({
  tooLarge: z.literal(false).describe('False: the body is inline'),
  body: z.string().describe('The content, as text or base64 per `encoding`'),
  encoding: BodyEncoding,
});

/** `get-object` when the object exceeds `maxBytes`: a presigned GET URL instead of the body. */
export const LargeObject = ObjectInfo.extend({
  tooLarge: z.literal(true).describe('True: the object exceeds maxBytes; download it from `url`'),
  url: z.string().describe('Presigned GET URL that downloads the object without credentials'),
  expiresIn: z.number().int().positive().describe('Seconds the URL stays valid'),
});

/** Output of `get-object`. */
export const GetObjectOutput = z.discriminatedUnion('tooLarge', [InlineObject, LargeObject]);
export type GetObjectOutput = z.infer<typeof GetObjectOutput>;

/** Output of `head-object`. */
export const HeadObjectOutput = ObjectInfo;
export type HeadObjectOutput = z.infer<typeof HeadObjectOutput>;

/** Input of `list-objects`. */
export const ListObjectsInput = z.strictObject({
  bucket: BucketName.optional(),
  prefix: KeyPrefix.optional(),
  delimiter: WellFormedText.min(1)
    .max(16)
    .optional()
    .describe('Groups keys sharing a prefix up to this character into `commonPrefixes`, e.g. "/"'),
  continuationToken: WellFormedText.min(1)
    .max(4096)
    .optional()
    .describe('`nextContinuationToken` of the previous page'),
  maxKeys: z.number().int().min(1).max(1000).default(100).describe('Page size, 1-1000, default 100'),
});
export type ListObjectsInput = z.input<typeof ListObjectsInput>;

/** One entry of a listing. */
export const ObjectSummary = z.object({
  key: z.string().describe('The object key'),
  size: z.number().int().nonnegative().describe('Object size in bytes'),
  etag: z.string().optional().describe('Entity tag (quotes removed)'),
  lastModified: z.string().optional().describe('When the object was last written, ISO 8601'),
});
export type ObjectSummary = z.infer<typeof ObjectSummary>;

/** Output of `list-objects`. */
export const ListObjectsOutput = z.object({
  bucket: z.string().describe('The bucket listed'),
  objects: z.array(ObjectSummary).describe('Objects of this page, in key order'),
  commonPrefixes: z
    .array(z.string())
    .describe('Key prefixes grouped by `delimiter` ("folders"), empty without one'),
  isTruncated: z.boolean().describe('True when more pages follow'),
  nextContinuationToken: z.string().optional().describe('Pass as `continuationToken` for the next page'),
});
export type ListObjectsOutput = z.infer<typeof ListObjectsOutput>;

/** Input of `delete-object`. */
export const DeleteObjectInput = ObjectRef;
export type DeleteObjectInput = z.input<typeof DeleteObjectInput>;

/** Output of `delete-object`; deleting a missing object succeeds too (deletes are idempotent). */
export const DeleteObjectOutput = z.object({
  bucket: z.string().describe('The bucket'),
  key: z.string().describe('The key that no longer exists'),
  deleted: z.literal(true).describe('Always true: the object is gone, whether or not it existed'),
});
export type DeleteObjectOutput = z.infer<typeof DeleteObjectOutput>;

/** Input of `copy-object`. */
export const CopyObjectInput = z.strictObject({
  sourceBucket: BucketName.optional().describe("Bucket to copy from; defaults to the connector's bucket"),
  sourceKey: ObjectKey.describe('Key to copy from'),
  bucket: BucketName.optional().describe("Bucket to copy to; defaults to the connector's bucket"),
  key: ObjectKey.describe('Key to copy to'),
  metadata: ObjectMetadata.optional().describe(
    'Replaces the metadata on the copy when given (with `contentType`); otherwise the source metadata is kept',
  ),
  contentType: ContentType.optional().describe('Replaces the media type on the copy when given'),
});
export type CopyObjectInput = z.input<typeof CopyObjectInput>;

/** Output of `copy-object`. */
export const CopyObjectOutput = z.object({
  bucket: z.string().describe('The bucket copied to'),
  key: z.string().describe('The key copied to'),
  etag: z.string().optional().describe('Entity tag of the copy (quotes removed)'),
  lastModified: z.string().optional().describe('When the copy was written, ISO 8601'),
});
export type CopyObjectOutput = z.infer<typeof CopyObjectOutput>;

/** Input of `presign-url`. */
export const PresignUrlInput = ObjectRef.extend({
  method: z
    .enum(['GET', 'PUT'])
    .default('GET')
    .describe('GET to let someone download the object, PUT to let someone upload it'),
  expiresIn: z
    .number()
    .int()
    .min(1)
    .max(MAX_PRESIGN_EXPIRES_SECONDS)
    .optional()
    .describe('Seconds the URL stays valid, 1-604800; defaults to the connector setting'),
  contentType: ContentType.optional().describe(
    'PUT only: the media type the uploader must send (signed into the URL)',
  ),
}).superRefine((input, context) => {
  // Every store refuses it the same way, before any call: a GET URL has no body to type.
  if (input.method === 'GET' && input.contentType !== undefined) {
    context.addIssue({ code: 'custom', message: 'only allowed with method PUT', path: ['contentType'] });
  }
});
export type PresignUrlInput = z.input<typeof PresignUrlInput>;

/** Output of `presign-url`. */
export const PresignUrlOutput = z.object({
  url: z.string().describe('The presigned URL; anyone holding it can use it until it expires'),
  method: z.enum(['GET', 'PUT']).describe('The HTTP method the URL is signed for'),
  expiresIn: z.number().int().positive().describe('Seconds the URL stays valid'),
  expiresAt: z.string().describe('When the URL stops working, ISO 8601'),
  headers: z
    .record(z.string(), z.string())
    .describe('Headers the request must carry for the signature to match, e.g. content-type'),
});
export type PresignUrlOutput = z.infer<typeof PresignUrlOutput>;
