import { envBoolean, envBrokerTls, envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { RabbitmqClientOptions } from './client.ts';

/** RabbitMQ's name rules for exchanges, queues and routing keys: a short string, at most 255 bytes. */
const AmqpName = z
  .string()
  .max(255)
  .refine(
    (name) => Buffer.byteLength(name) <= 255,
    'expected at most 255 bytes of UTF-8 (AMQP short string)',
  );

/**
 * The RabbitMQ connector's settings. Keys are the environment variable names; the secret is named, never
 * held (its value lives in Secrets Manager).
 */
export const RabbitmqConfig = z.object({
  RABBITMQ_HOST: z
    .string()
    .min(1)
    .max(253)
    .describe('Host name of the RabbitMQ server (Amazon MQ: the broker endpoint)'),
  RABBITMQ_PORT: envInteger(5671, { min: 1, max: 65_535 }).describe(
    'AMQP port: 5671 for AMQPS (Amazon MQ), 5672 for plain AMQP on a local server',
  ),
  RABBITMQ_TLS: envBrokerTls('RabbitMQ'),
  RABBITMQ_VHOST: z
    .string()
    .min(1)
    .max(255)
    .default('/')
    .describe("Virtual host; the secret's vhost, when it holds one, wins"),
  RABBITMQ_SECRET: z
    .string()
    .min(1)
    .default('circle-core/rabbitmq/credentials')
    .describe('Name or ARN of the secret holding `{ "username": ..., "password": ..., "vhost"?: ... }`'),
  RABBITMQ_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  RABBITMQ_EXCHANGE: AmqpName.default('').describe(
    'Exchange every publish goes to; empty: the default exchange, where the routing key names a queue',
  ),
  RABBITMQ_ROUTING_KEY: AmqpName.default('').describe(
    'Routing key of a publish that names no destination (with the default exchange: the queue)',
  ),
  RABBITMQ_QUEUE: AmqpName.default('').describe('Queue a pull reads when it names no source'),
  RABBITMQ_PERSISTENT: envBoolean(true).describe(
    'Publish with delivery mode 2 (persistent): a durable queue keeps the message across a restart',
  ),
  RABBITMQ_CONNECT_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 60_000 }).describe(
    "Bound of opening the connection; the invocation's time left may cut it shorter",
  ),
  RABBITMQ_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
    "Bound of one call (publisher confirms, a declare); the invocation's time left may cut it shorter",
  ),
});

/** The parsed settings. */
export type RabbitmqSettings = z.output<typeof RabbitmqConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = RabbitmqClient.create(clientOptions(loadConfig(RabbitmqConfig)));
 * ```
 */
export function clientOptions(config: RabbitmqSettings): RabbitmqClientOptions {
  return {
    host: config.RABBITMQ_HOST,
    port: config.RABBITMQ_PORT,
    tls: config.RABBITMQ_TLS,
    vhost: config.RABBITMQ_VHOST,
    secretName: config.RABBITMQ_SECRET,
    secretMaxAgeSeconds: config.RABBITMQ_SECRET_MAX_AGE_SECONDS,
    exchange: config.RABBITMQ_EXCHANGE,
    routingKey: config.RABBITMQ_ROUTING_KEY,
    queue: config.RABBITMQ_QUEUE,
    persistent: config.RABBITMQ_PERSISTENT,
    connectTimeoutMs: config.RABBITMQ_CONNECT_TIMEOUT_MS,
    timeoutMs: config.RABBITMQ_TIMEOUT_MS,
  };
}
