import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { EventBridgeOptions } from './client.ts';

/**
 * The Amazon EventBridge connector's settings; keys are the environment variable names. No secret: the
 * function's IAM role is its credential (the AWS SDK's default chain), and `AWS_ENDPOINT_URL_EVENTBRIDGE`
 * (or `AWS_ENDPOINT_URL`) points the client elsewhere (the local stack, tests).
 */
export const EventBridgeConfig = z.object({
  EVENTBRIDGE_BUS_NAME: z
    .string()
    .regex(
      /^([\w.\-/]{1,256}|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[\w.\-/]{1,256})$/,
      'expected an event bus name or ARN',
    )
    .describe(
      'The event bus the connector puts events on, and the only one (its IAM role names it alone), by name or ARN',
    ),
  EVENTBRIDGE_SOURCE: z
    .string()
    .min(1)
    .max(256)
    .regex(/^(?!aws\.)/, 'the "aws." prefix is reserved for AWS')
    .default('circle-core')
    .describe('The `source` of events that name none'),
  EVENTBRIDGE_DETAIL_TYPE: z
    .string()
    .min(1)
    .max(128)
    .default('message')
    .describe('The `detail-type` of events that name none'),
  EVENTBRIDGE_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
    "Budget of one call including the SDK's retries; the invocation's remaining time may cut it shorter",
  ),
  EVENTBRIDGE_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call (the SDK's standard retry strategy; throttling backs off longer)",
  ),
});

/** The parsed settings. */
export type EventBridgeSettings = z.output<typeof EventBridgeConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = await EventBridgePublisher.create(clientOptions(loadConfig(EventBridgeConfig)));
 * ```
 */
export function clientOptions(config: EventBridgeSettings): EventBridgeOptions {
  return {
    bus: config.EVENTBRIDGE_BUS_NAME,
    source: config.EVENTBRIDGE_SOURCE,
    detailType: config.EVENTBRIDGE_DETAIL_TYPE,
    timeoutMs: config.EVENTBRIDGE_TIMEOUT_MS,
    maxAttempts: config.EVENTBRIDGE_MAX_ATTEMPTS,
  };
}
