/**
 * The Redis connector: the key-value interface (JSON values with versions, conditional writes, expiry,
 * batches, prefix listing, counters) on every trigger (HTTP, SQS, Step Functions, direct invoke, library
 * use) from one declaration, over one reused connection per container.
 */
import { defineConnector } from '@circle-core/core';
import { keyValueOperations } from '#shared/interfaces/key-value-operations.ts';
import { REDIS_CAPABILITIES, RedisKeyValueStore } from './client.ts';
import { clientOptions, RedisConfig } from './config.ts';

/**
 * @example
 * ```ts
 * await connector.run('put-value', { key: 'greeting', value: 'hello', ttlSeconds: 60 });
 * ```
 */
export const connector = defineConnector({
  name: 'redis',
  version: '1.0.3',
  config: RedisConfig,
  capabilities: REDIS_CAPABILITIES,
  setup: { client: ({ config }) => RedisKeyValueStore.create(clientOptions(config)) },
  operations: (op) => keyValueOperations(op),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
