import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { SnsOptions } from './client.ts';

/**
 * The Amazon SNS connector's settings; keys are the environment variable names. No secret: the function's
 * IAM role is its credential (the AWS SDK's default chain), and `AWS_ENDPOINT_URL_SNS` (or
 * `AWS_ENDPOINT_URL`) points the client elsewhere (the local stack, tests).
 */
export const SnsConfig = z.object({
  SNS_TOPIC_ARN: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
      'expected an SNS topic ARN',
    )
    .describe(
      'The topic the connector publishes to, and the only one (its IAM role names it alone); a `.fifo` topic turns on ordering and deduplication',
    ),
  SNS_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
    "Budget of one call including the SDK's retries; the invocation's remaining time may cut it shorter",
  ),
  SNS_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call (the SDK's standard retry strategy; throttling backs off longer)",
  ),
});

/** The parsed settings. */
export type SnsSettings = z.output<typeof SnsConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = await SnsPublisher.create(clientOptions(loadConfig(SnsConfig)));
 * ```
 */
export function clientOptions(config: SnsSettings): SnsOptions {
  return {
    topicArn: config.SNS_TOPIC_ARN,
    timeoutMs: config.SNS_TIMEOUT_MS,
    maxAttempts: config.SNS_MAX_ATTEMPTS,
  };
}
