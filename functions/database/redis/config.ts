import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import type { RedisStoreOptions } from './client.ts';

/**
 * The Redis connector's settings. Keys are the environment variable names; the secret is named, never
 * held (its value lives in Secrets Manager).
 */
export const RedisConfig = z
  .object({
    REDIS_HOST: z
      .string()
      .min(1)
      .max(253)
      .describe(
        'Host name of the Redis server (with TLS, a name its certificate lists), e.g. the ElastiCache primary endpoint',
      ),
    REDIS_PORT: envInteger(6379, { min: 1, max: 65_535 }).describe('Port of the Redis server'),
    REDIS_TLS: z
      .enum(['verify-full', 'disable'])
      .default('verify-full')
      .describe(
        '`verify-full`: TLS with the certificate chain and host name verified; `disable`: plain TCP (a server on this machine only). Verification is never turned off',
      ),
    REDIS_SECRET: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Name or ARN of the secret holding `{ "username": ..., "password": ... }` (an ACL user; without `username`, the default user); unset: no AUTH (a server on this machine only)',
      ),
    REDIS_DATABASE: envInteger(0, { min: 0, max: 15 }).describe(
      'Logical database number (SELECT); 0 on ElastiCache cluster mode and Serverless',
    ),
    REDIS_KEY_PREFIX: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces')
      .default('circle-core:')
      .describe(
        'Prefix of every key the connector writes, so two stages (or apps) sharing a server never collide; function.yml sets `circle-core:<stage>:`',
      ),
    REDIS_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
      'How long a fetched secret is served from the container cache, in seconds',
    ),
    REDIS_CONNECT_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 60_000 }).describe(
      "Bound of opening the connection (TCP, TLS, AUTH); the invocation's time left may cut it shorter",
    ),
    REDIS_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 900_000 }).describe(
      "Bound of one command; the invocation's time left may cut it shorter",
    ),
  })
  .superRefine((config, context) => {
    if (config.REDIS_TLS === 'disable' && !isLoopback(config.REDIS_HOST)) {
      context.addIssue({
        code: 'custom',
        path: ['REDIS_TLS'],
        message: 'REDIS_TLS=disable is for a server on this machine only (127.0.0.1, ::1, localhost)',
      });
    }
  });

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The parsed settings. */
export type RedisSettings = z.output<typeof RedisConfig>;

/**
 * The store's options from the settings.
 *
 * @example
 * ```ts
 * const store = RedisKeyValueStore.create(clientOptions(loadConfig(RedisConfig)));
 * ```
 */
export function clientOptions(config: RedisSettings): RedisStoreOptions {
  return {
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    tls: config.REDIS_TLS === 'verify-full',
    ...(config.REDIS_SECRET === undefined ? {} : { secretName: config.REDIS_SECRET }),
    database: config.REDIS_DATABASE,
    keyPrefix: config.REDIS_KEY_PREFIX,
    secretMaxAgeSeconds: config.REDIS_SECRET_MAX_AGE_SECONDS,
    connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
    timeoutMs: config.REDIS_TIMEOUT_MS,
  };
}
