import { envBrokerTls, envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import type { NatsClientOptions } from './client.ts';

/** A NATS subject or a JetStream name: no spaces, no control characters. */
const Token = z
  .string()
  .max(255)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  .regex(/^[^\s\u0000-\u001f\u007f]*$/, 'expected no spaces or control characters');

/**
 * The NATS JetStream connector's settings. Keys are the environment variable names; the secret is named,
 * never held (its value lives in Secrets Manager).
 */
export const NatsConfig = z.object({
  NATS_HOST: z.string().min(1).max(253).describe('Host name of the NATS server'),
  NATS_PORT: envInteger(4222, { min: 1, max: 65_535 }).describe('Client port of the NATS server'),
  NATS_TLS: envBrokerTls('NATS'),
  NATS_SECRET: z
    .string()
    .min(1)
    .default('circle-core/nats/credentials')
    .describe(
      'Name or ARN of the secret: `{ "username", "password" }`, `{ "token" }`, or `{ "creds" }` (the NKey user .creds file text); `{}` for a server without auth',
    ),
  NATS_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  NATS_SUBJECT: Token.default('').describe(
    'Subject of a publish that names no destination; a stream must listen on it',
  ),
  NATS_STREAM: Token.default('').describe('Stream the pull consumers belong to'),
  NATS_CONSUMER: Token.default('').describe('Durable pull consumer a pull reads when it names no source'),
  NATS_CONNECT_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 60_000 }).describe(
    "Bound of opening the connection; the invocation's time left may cut it shorter",
  ),
  NATS_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
    "Bound of one call (a publish's ack, an acknowledgement); the invocation's time left may cut it shorter",
  ),
  /**
   * Forwarding (`forward-messages`, the polling schedule): NATS_STATE_TABLE (delivery ids of forwarded
   * messages), NATS_EVENTS_QUEUE_URL / NATS_EVENTS_STATE_MACHINE_ARN (where they go), NATS_DELIVERY_TTL_DAYS.
   */
  ...eventSettings('NATS', { ttlDays: 7 }),
});

/** The parsed settings. */
export type NatsSettings = z.output<typeof NatsConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = NatsClient.create(clientOptions(loadConfig(NatsConfig)));
 * ```
 */
export function clientOptions(config: NatsSettings): NatsClientOptions {
  return {
    host: config.NATS_HOST,
    port: config.NATS_PORT,
    tls: config.NATS_TLS,
    secretName: config.NATS_SECRET,
    secretMaxAgeSeconds: config.NATS_SECRET_MAX_AGE_SECONDS,
    subject: config.NATS_SUBJECT,
    stream: config.NATS_STREAM,
    consumer: config.NATS_CONSUMER,
    connectTimeoutMs: config.NATS_CONNECT_TIMEOUT_MS,
    timeoutMs: config.NATS_TIMEOUT_MS,
  };
}
