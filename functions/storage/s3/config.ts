import { envBoolean, envInteger, envList } from '@circle-core/core';
import * as z from 'zod';
import { BucketName, MAX_INLINE_BYTES, MAX_PRESIGN_EXPIRES_SECONDS } from '#shared/models/object-storage.ts';
import type { S3ObjectStorageOptions } from './client.ts';

/**
 * The S3 connector's settings; keys are the environment variable names. No secret: credentials come
 * from the AWS SDK's default chain (the function's IAM role in Lambda, the usual variables or profile
 * elsewhere).
 */
export const S3Config = z.object({
  S3_BUCKET: BucketName.describe('Bucket every operation uses when a request names none'),
  S3_ALLOWED_BUCKETS: envList([])
    .pipe(z.array(BucketName))
    .describe('Comma-separated other buckets a request may name with `bucket`; S3_BUCKET is always allowed'),
  S3_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      'S3-compatible endpoint (MinIO, s3rver, R2, ...); unset means AWS, or `AWS_ENDPOINT_URL_S3` when set',
    ),
  S3_FORCE_PATH_STYLE: envBoolean(false).describe(
    '`https://host/bucket/key` addressing instead of `https://bucket.host/key`; most compatible stores need it',
  ),
  S3_GET_MAX_BYTES: envInteger(1_048_576, { min: 0, max: MAX_INLINE_BYTES }).describe(
    'Largest object `get-object` returns inline; a larger one comes back as a presigned URL',
  ),
  S3_PRESIGN_EXPIRES_SECONDS: envInteger(900, { min: 1, max: MAX_PRESIGN_EXPIRES_SECONDS }).describe(
    'Default lifetime of presigned URLs, in seconds',
  ),
  S3_TIMEOUT_MS: envInteger(10_000, { min: 100, max: 900_000 }).describe(
    "Budget of one S3 call including the SDK's retries; the invocation's remaining time may cut it shorter",
  ),
  S3_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per S3 call (the SDK's standard retry strategy with jittered backoff; throttling backs off longer)",
  ),
});
export type S3Config = z.output<typeof S3Config>;

/**
 * Maps the environment settings to the client's library options.
 *
 * @example
 * ```ts
 * const storage = new S3ObjectStorage(clientOptions(loadConfig(S3Config)));
 * ```
 */
export function clientOptions(config: S3Config): S3ObjectStorageOptions {
  const options: S3ObjectStorageOptions = {
    bucket: config.S3_BUCKET,
    allowedBuckets: config.S3_ALLOWED_BUCKETS,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    maxBytes: config.S3_GET_MAX_BYTES,
    presignExpiresSeconds: config.S3_PRESIGN_EXPIRES_SECONDS,
    timeoutMs: config.S3_TIMEOUT_MS,
    maxAttempts: config.S3_MAX_ATTEMPTS,
  };
  if (config.S3_ENDPOINT !== undefined) options.endpoint = config.S3_ENDPOINT;
  return options;
}
