import { envBrokerTls, envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { MqttClientOptions } from './client.ts';

/**
 * The MQTT connector's settings. Keys are the environment variable names; the secret is named, never
 * held (its value lives in Secrets Manager).
 */
export const MqttConfig = z.object({
  MQTT_HOST: z.string().min(1).max(253).describe('Host name of the MQTT broker'),
  MQTT_PORT: envInteger(8883, { min: 1, max: 65_535 }).describe(
    'Port: 8883 for MQTT over TLS, 1883 for plain MQTT on a local broker',
  ),
  MQTT_TLS: envBrokerTls('the MQTT broker'),
  MQTT_PROTOCOL_VERSION: z
    .enum(['5', '4'])
    .default('5')
    .describe(
      'MQTT 5 (user properties carry attributes) or 3.1.1 (`4`: no attributes; brokers without MQTT 5)',
    ),
  MQTT_SECRET: z
    .string()
    .min(1)
    .default('circle-core/mqtt/credentials')
    .describe(
      'Name or ARN of the secret: `{ "username", "password" }` and/or `{ "clientCert", "clientKey" }` (PEM, mutual TLS); `{}` for a broker without auth',
    ),
  MQTT_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  MQTT_TOPIC: z.string().max(65_535).default('').describe('Topic of a publish that names no destination'),
  MQTT_QOS: z
    .enum(['0', '1', '2'])
    .default('1')
    .transform(Number)
    .describe(
      'QoS of a publish that names none: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBCOMP)',
    ),
  MQTT_CLIENT_ID_PREFIX: z
    .string()
    .min(1)
    .max(40)
    .regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, - and _')
    .default('circle-core')
    .describe('Prefix of the client id; a random suffix keeps two containers from taking over each other'),
  MQTT_CONNECT_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 60_000 }).describe(
    "Bound of opening the connection; the invocation's time left may cut it shorter",
  ),
  MQTT_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
    "Bound of one publish's acknowledgement; the invocation's time left may cut it shorter",
  ),
});

/** The parsed settings. */
export type MqttSettings = z.output<typeof MqttConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = MqttPublisher.create(clientOptions(loadConfig(MqttConfig)));
 * ```
 */
export function clientOptions(config: MqttSettings): MqttClientOptions {
  return {
    host: config.MQTT_HOST,
    port: config.MQTT_PORT,
    tls: config.MQTT_TLS,
    protocolVersion: config.MQTT_PROTOCOL_VERSION === '5' ? 5 : 4,
    secretName: config.MQTT_SECRET,
    secretMaxAgeSeconds: config.MQTT_SECRET_MAX_AGE_SECONDS,
    topic: config.MQTT_TOPIC,
    qos: config.MQTT_QOS as 0 | 1 | 2,
    clientIdPrefix: config.MQTT_CLIENT_ID_PREFIX,
    connectTimeoutMs: config.MQTT_CONNECT_TIMEOUT_MS,
    timeoutMs: config.MQTT_TIMEOUT_MS,
  };
}
