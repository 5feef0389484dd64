import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { IotCoreOptions } from './client.ts';

/**
 * The AWS IoT Core connector's settings; keys are the environment variable names. No secret: the function's
 * IAM role is its credential (the AWS SDK's default chain). The data plane's endpoint is account-specific;
 * without `IOT_DATA_ENDPOINT` the SDK's own variables apply (`AWS_ENDPOINT_URL_IOT_DATA_PLANE`,
 * `AWS_ENDPOINT_URL`: the local stack, tests), then its regional default.
 */
export const IotCoreConfig = z.object({
  IOT_DATA_ENDPOINT: z
    .union([
      z.literal(''),
      z.url({ protocol: /^https?$/ }).describe('e.g. https://a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com'),
    ])
    .default('')
    .describe(
      "The account's data endpoint (aws iot describe-endpoint --endpoint-type iot:Data-ATS), https://xxxx-ats.iot.<region>.amazonaws.com; empty: the SDK's endpoint variables",
    ),
  IOT_CORE_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
    "Budget of one call including the SDK's retries; the invocation's remaining time may cut it shorter",
  ),
  IOT_CORE_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call (the SDK's standard retry strategy; throttling backs off longer)",
  ),
});

/** The parsed settings. */
export type IotCoreSettings = z.output<typeof IotCoreConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = await IotCoreClient.create(clientOptions(loadConfig(IotCoreConfig)));
 * ```
 */
export function clientOptions(config: IotCoreSettings): IotCoreOptions {
  return {
    endpoint: config.IOT_DATA_ENDPOINT === '' ? undefined : config.IOT_DATA_ENDPOINT,
    timeoutMs: config.IOT_CORE_TIMEOUT_MS,
    maxAttempts: config.IOT_CORE_MAX_ATTEMPTS,
  };
}
