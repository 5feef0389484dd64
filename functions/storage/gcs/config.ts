import { envInteger, envList } from '@circle-core/core';
import * as z from 'zod';
import { BucketName, MAX_INLINE_BYTES, MAX_PRESIGN_EXPIRES_SECONDS } from '#shared/models/object-storage.ts';
import { gcsApi } from './client.ts';

/**
 * The Google Cloud Storage connector's settings; keys are the environment variable names. The service
 * account key (JSON) lives in the Secrets Manager secret `GCS_CREDENTIALS_SECRET` names, never here.
 */
export const GcsConfig = z.object({
  /** GCS_API_URL (the apiEndpoint override), GCS_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS, _RATE_LIMIT. */
  ...gcsApi.settings,
  GCS_BUCKET: BucketName.describe('Bucket every operation uses when a request names none'),
  GCS_ALLOWED_BUCKETS: envList([])
    .pipe(z.array(BucketName))
    .describe('Comma-separated other buckets a request may name with `bucket`; GCS_BUCKET is always allowed'),
  GCS_CREDENTIALS_SECRET: z
    .string()
    .min(1)
    .default('circle-core/gcs/service-account')
    .describe(
      'Name or ARN of the secret holding the service account key file (JSON: client_email, private_key, token_uri)',
    ),
  GCS_TOKEN_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "OAuth2 token endpoint overriding the key file's `token_uri` (a private endpoint, the local sandbox)",
    ),
  GCS_GET_MAX_BYTES: envInteger(1_048_576, { min: 0, max: MAX_INLINE_BYTES }).describe(
    'Largest object `get-object` returns inline; a larger one comes back as a V4 signed URL',
  ),
  GCS_PRESIGN_EXPIRES_SECONDS: envInteger(900, { min: 1, max: MAX_PRESIGN_EXPIRES_SECONDS }).describe(
    'Default lifetime of V4 signed URLs, in seconds',
  ),
  GCS_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long the fetched secret is served from the container cache, in seconds',
  ),
});

/** The parsed settings. */
export type GcsSettings = z.output<typeof GcsConfig>;
