import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { DynamodbOptions } from './client.ts';

/**
 * The DynamoDB connector's settings; keys are the environment variable names. No secret: the function's
 * IAM role is its credential (the AWS SDK's default chain), and `AWS_ENDPOINT_URL_DYNAMODB` points the
 * client elsewhere (the local stack, tests).
 */
export const DynamodbConfig = z.object({
  DYNAMODB_TABLE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'expected a DynamoDB table name')
    .describe("The key-value table (`pk` and `sk` strings): its own, created by function.yml's resources"),
  DYNAMODB_TTL_ATTRIBUTE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'expected an attribute name')
    .refine(
      (name) => !['pk', 'sk', 'v', 'ver', 'vint'].includes(name),
      'expected a name other than pk, sk, v, ver and vint (the attributes the connector writes itself)',
    )
    .default('expiresAt')
    .describe("The table's TTL attribute (epoch seconds), as its TimeToLiveSpecification names it"),
  DYNAMODB_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
    "Budget of one call including the SDK's retries; the invocation's remaining time may cut it shorter",
  ),
  DYNAMODB_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call (the SDK's standard retry strategy; throttling backs off longer)",
  ),
});

/** The parsed settings. */
export type DynamodbSettings = z.output<typeof DynamodbConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = await DynamodbKeyValueStore.create(clientOptions(loadConfig(DynamodbConfig)));
 * ```
 */
export function clientOptions(config: DynamodbSettings): DynamodbOptions {
  return {
    table: config.DYNAMODB_TABLE,
    ttlAttribute: config.DYNAMODB_TTL_ATTRIBUTE,
    timeoutMs: config.DYNAMODB_TIMEOUT_MS,
    maxAttempts: config.DYNAMODB_MAX_ATTEMPTS,
  };
}
