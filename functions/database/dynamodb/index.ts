/**
 * The DynamoDB connector: the key-value interface (JSON values with versions, conditional writes, expiry,
 * batches, prefix listing, counters) on one table, on every trigger (HTTP, SQS, Step Functions, direct
 * invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { keyValueOperations } from '#shared/interfaces/key-value-operations.ts';
import { DYNAMODB_CAPABILITIES, DynamodbKeyValueStore } from './client.ts';
import { clientOptions, DynamodbConfig } from './config.ts';

/**
 * @example
 * ```ts
 * await connector.run('put-value', { key: 'copies/report.csv', value: { etag: '9b2cf535' } });
 * ```
 */
export const connector = defineConnector({
  name: 'dynamodb',
  version: '1.0.5',
  config: DynamodbConfig,
  capabilities: DYNAMODB_CAPABILITIES,
  setup: { client: ({ config }) => DynamodbKeyValueStore.create(clientOptions(config)) },
  operations: (op) => keyValueOperations(op),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
