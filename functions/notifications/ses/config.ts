import { envBoolean, envInteger, envList } from '@circle-core/core';
import * as z from 'zod';
import { BucketName } from '#shared/models/object-storage.ts';
import type { SesOptions } from './client.ts';
import { EmailAddress } from './models.ts';

/**
 * The Amazon SES connector's settings; keys are the environment variable names. No secret: the function's
 * IAM role is its credential (the AWS SDK's default chain), and `AWS_ENDPOINT_URL_SESV2` (or
 * `AWS_ENDPOINT_URL`) points the client elsewhere (the local stack, tests).
 */
export const SesConfig = z.object({
  SES_FROM_ADDRESS: EmailAddress.optional().describe(
    'Default sender of messages that name no from: an address at a verified identity (its role may send only from that identity)',
  ),
  SES_CONFIGURATION_SET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a configuration set name')
    .optional()
    .describe(
      'The configuration set every message is sent through (event publishing, reputation, dedicated IPs); unset sends without one',
    ),
  SES_ATTACHMENT_BUCKETS: envList([])
    .pipe(z.array(BucketName))
    .describe(
      'Comma-separated buckets attachments and raw messages may be read from (claim check); the first is the default; empty refuses them',
    ),
  SES_ATTACHMENT_MAX_BYTES: envInteger(10_485_760, { min: 1, max: 30_000_000 }).describe(
    'Bytes one message may read from S3 in all (SES takes 40 MB per message after base64)',
  ),
  SES_S3_FORCE_PATH_STYLE: envBoolean(false).describe(
    '`https://host/bucket/key` addressing for S3 reads; S3-compatible stores (the local stack) need it',
  ),
  SES_TIMEOUT_MS: envInteger(10_000, { min: 100, max: 900_000 }).describe(
    "Budget of one call including the SDK's retries; the invocation's remaining time may cut it shorter",
  ),
  SES_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call (the SDK's standard retry strategy; throttling backs off longer)",
  ),
});

/** The parsed settings. */
export type SesSettings = z.output<typeof SesConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = await SesMailer.create(clientOptions(loadConfig(SesConfig)));
 * ```
 */
export function clientOptions(config: SesSettings): SesOptions {
  return {
    from: config.SES_FROM_ADDRESS,
    configurationSet: config.SES_CONFIGURATION_SET,
    attachmentBuckets: config.SES_ATTACHMENT_BUCKETS,
    attachmentMaxBytes: config.SES_ATTACHMENT_MAX_BYTES,
    s3ForcePathStyle: config.SES_S3_FORCE_PATH_STYLE,
    timeoutMs: config.SES_TIMEOUT_MS,
    maxAttempts: config.SES_MAX_ATTEMPTS,
  };
}
