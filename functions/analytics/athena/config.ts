import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { AthenaOptions } from './client.ts';
import { DatabaseName } from './models.ts';

/**
 * The Amazon Athena connector's settings; keys are the environment variable names. No secret: the function's
 * IAM role is its credential (the AWS SDK's default chain), and `AWS_ENDPOINT_URL_ATHENA` (or
 * `AWS_ENDPOINT_URL`) points the client elsewhere (the local stack, tests).
 */
export const AthenaConfig = z.object({
  ATHENA_WORKGROUP: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'expected a workgroup name')
    .default('primary')
    .describe('The workgroup every query runs in (its engine version, limits, encryption and cost controls)'),
  ATHENA_OUTPUT_LOCATION: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'expected s3://bucket/prefix/')
    .optional()
    .or(z.literal('').transform(() => undefined))
    .describe(
      "Where Athena writes each query's result CSV (s3://bucket/prefix/); empty: the workgroup's result location",
    ),
  ATHENA_DATABASE: DatabaseName.default('default').describe(
    'The Glue database of unqualified table names when a query names none',
  ),
  ATHENA_TIMEOUT_MS: envInteger(10_000, { min: 100, max: 900_000 }).describe(
    "Budget of one call including the SDK's retries; the invocation's remaining time may cut it shorter",
  ),
  ATHENA_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call (the SDK's standard retry strategy; throttling backs off longer)",
  ),
});

/** The parsed settings. */
export type AthenaSettings = z.output<typeof AthenaConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const athena = await AthenaWarehouse.create(clientOptions(loadConfig(AthenaConfig)));
 * ```
 */
export function clientOptions(config: AthenaSettings): AthenaOptions {
  return {
    workGroup: config.ATHENA_WORKGROUP,
    outputLocation: config.ATHENA_OUTPUT_LOCATION,
    database: config.ATHENA_DATABASE,
    timeoutMs: config.ATHENA_TIMEOUT_MS,
    maxAttempts: config.ATHENA_MAX_ATTEMPTS,
  };
}
