/**
 * The Azure Blob connector's operation schemas: the object storage interface's models (a "bucket" is a
 * container), with Azure's own put options.
 */
import * as z from 'zod';
import { checkBase64Body, PutObjectFields } from '#shared/models/object-storage.ts';

/** Access tiers whose blobs can be read at once; Archive needs a rehydration this connector does not offer. */
export const AzureAccessTier = z
  .enum(['Hot', 'Cool', 'Cold'])
  .describe("Blob access tier; unset means the account's default tier (usually Hot)");

/** Input of `put-object` on Azure: the interface's fields plus the access tier and Cache-Control. */
export const AzurePutObjectInput = PutObjectFields.extend({
  accessTier: AzureAccessTier.optional(),
  cacheControl: z
    .string()
    .max(256)
    .regex(/^[\x20-\x7e]*$/, 'expected printable ASCII')
    .optional()
    .describe('Cache-Control sent when the blob is downloaded, e.g. "max-age=3600"'),
}).superRefine(checkBase64Body);
export type AzurePutObjectInput = z.input<typeof AzurePutObjectInput>;
