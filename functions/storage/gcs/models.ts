/**
 * The Google Cloud Storage connector's models: the object storage interface's operation schemas (shared),
 * GCS's own put options, and the JSON API resources the client reads (open: Google adds fields).
 */
import * as z from 'zod';
import { checkBase64Body, PutObjectFields } from '#shared/models/object-storage.ts';

/** Input of `put-object` on GCS: the interface's fields plus Cache-Control. */
export const GcsPutObjectInput = PutObjectFields.extend({
  cacheControl: z
    .string()
    .max(256)
    .regex(/^[\x20-\x7e]*$/, 'expected printable ASCII')
    .optional()
    .describe('Cache-Control served with the object, e.g. "max-age=3600"'),
}).superRefine(checkBase64Body);
export type GcsPutObjectInput = z.input<typeof GcsPutObjectInput>;

/** A JSON API int64: a decimal string (numbers are accepted too). */
const Int64 = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(Number);

/** An object resource (`storage#object`), the fields this connector reads. */
export const GcsObject = z.object({
  name: z.string(),
  bucket: z.string(),
  size: Int64,
  generation: z.union([z.string(), z.number()]).transform(String).optional(),
  contentType: z.string().optional(),
  // Editable metadata a rewrite with a request body must carry over itself (objects.rewrite).
  cacheControl: z.string().optional(),
  contentDisposition: z.string().optional(),
  contentEncoding: z.string().optional(),
  contentLanguage: z.string().optional(),
  etag: z.string().optional(),
  updated: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type GcsObject = z.output<typeof GcsObject>;

/** One page of `objects.list`: `items`, `prefixes` (with a delimiter) and `nextPageToken`. */
export const GcsObjectPage = z.object({
  items: z.array(GcsObject).optional(),
  prefixes: z.array(z.string()).optional(),
  nextPageToken: z.string().optional(),
});

/** The answer of `objects.rewrite`: done, or a token to call again with. */
export const GcsRewrite = z.object({
  done: z.boolean(),
  rewriteToken: z.string().optional(),
  resource: GcsObject.optional(),
});

/** The answer of `buckets.get` with `fields=name`. */
export const GcsBucket = z.object({ name: z.string() });
