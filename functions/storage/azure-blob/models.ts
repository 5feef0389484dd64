/**
 * The Azure Blob connector's operation schemas: the object storage interface's models (a "bucket" is a
 * container), with Azure's own put options.
 */
import * as z from 'zod';
import { BucketName, checkBase64Body, PutObjectFields } from '#shared/models/object-storage.ts';

/**
 * What Azure's container naming rule adds to the shared bucket name rule: no dots, and every hyphen between
 * two letters or digits (no `--`). Undefined when `name` keeps it. The input schemas keep the shared rule (a
 * tighter schema would be a breaking change), so the client checks this at run time; settings use
 * {@link AzureContainerName}.
 */
export function azureContainerProblem(name: string): string | undefined {
  if (name.includes('.'))
    return 'expected an Azure container name: no dots (letters, digits and hyphens only)';
  if (name.includes('--')) return 'expected an Azure container name: no two hyphens in a row';
  return undefined;
}

/** Azure's limit on the `/`-separated path segments of a blob name. */
export const MAX_BLOB_NAME_SEGMENTS = 254;

/**
 * What Azure's blob naming rule adds to the shared key rule (1-1,024 bytes of UTF-8, which also keeps a
 * name within Azure's 1,024 characters): at most 254 path segments. Undefined when `key` keeps it. Checked
 * at run time like {@link azureContainerProblem}, before any call (Azurite stores such a blob; Azure
 * answers 400).
 */
export function azureBlobNameProblem(key: string): string | undefined {
  const segments = key.split('/').length;
  return segments > MAX_BLOB_NAME_SEGMENTS
    ? `expected at most ${MAX_BLOB_NAME_SEGMENTS} path segments (Azure), got ${segments}`
    : undefined;
}

/** A container name Azure accepts: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit. */
export const AzureContainerName = BucketName.superRefine((name, ctx) => {
  const problem = azureContainerProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

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
