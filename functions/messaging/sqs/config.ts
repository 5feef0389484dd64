import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { SqsOptions } from './client.ts';

/**
 * The Amazon SQS connector's settings; keys are the environment variable names. No secret: the function's
 * IAM role is its credential (the AWS SDK's default chain), and `AWS_ENDPOINT_URL_SQS` (or
 * `AWS_ENDPOINT_URL`) points the client elsewhere (the local stack, tests).
 */
export const SqsConfig = z.object({
  SQS_QUEUE_URL: z
    .url({ protocol: /^https?$/ })
    .describe(
      'The queue the connector publishes to and pulls from, and the only one (its IAM role names it alone); a `.fifo` URL turns on ordering and deduplication',
    ),
  SQS_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
    "Budget of one call including the SDK's retries (a receive adds its wait); the invocation's remaining time may cut it shorter",
  ),
  SQS_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call (the SDK's standard retry strategy; throttling backs off longer)",
  ),
});

/** The parsed settings. */
export type SqsSettings = z.output<typeof SqsConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = await SqsPublisher.create(clientOptions(loadConfig(SqsConfig)));
 * ```
 */
export function clientOptions(config: SqsSettings): SqsOptions {
  return {
    queueUrl: config.SQS_QUEUE_URL,
    timeoutMs: config.SQS_TIMEOUT_MS,
    maxAttempts: config.SQS_MAX_ATTEMPTS,
  };
}
