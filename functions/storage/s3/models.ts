/**
 * S3's own put options beside the object storage interface's models (the operations use the interface's
 * table, `shared/interfaces/object-storage-operations.ts`).
 */
import * as z from 'zod';
import { checkBase64Body, PutObjectFields } from '#shared/models/object-storage.ts';

/**
 * Storage classes whose objects can be read at once; the archive tiers (GLACIER, DEEP_ARCHIVE) need a
 * restore before `get-object` works, which this connector does not offer.
 */
export const S3StorageClass = z
  .enum(['STANDARD', 'INTELLIGENT_TIERING', 'STANDARD_IA', 'ONEZONE_IA', 'GLACIER_IR'])
  .describe('S3 storage class, default STANDARD');

/** Input of `put-object` on S3: the interface's fields plus S3's storage class and Cache-Control. */
export const S3PutObjectInput = PutObjectFields.extend({
  storageClass: S3StorageClass.optional(),
  cacheControl: z
    .string()
    .max(256)
    .regex(/^[\x20-\x7e]*$/, 'expected printable ASCII')
    .optional()
    .describe('Cache-Control sent when the object is downloaded, e.g. "max-age=3600"'),
}).superRefine(checkBase64Body);
export type S3PutObjectInput = z.input<typeof S3PutObjectInput>;
