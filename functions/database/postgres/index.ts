import { defineConnector } from '@circle-core/core';
import { sqlDatabaseOperations } from '#shared/interfaces/sql-database-operations.ts';
import { POSTGRES_CAPABILITIES, PostgresClient } from './client.ts';
import { PostgresConfig } from './config.ts';

/**
 * The PostgreSQL connector: parameterised queries, transactional batches, bulk inserts and catalog
 * introspection over one connection per container, served on every trigger by one Lambda handler.
 *
 * @example
 * ```ts
 * const out = await connector.run('query', { sql: 'select now() as at' });
 * ```
 */
export const connector = defineConnector({
  name: 'postgres',
  version: '1.0.4',
  config: PostgresConfig,
  capabilities: [...POSTGRES_CAPABILITIES],
  setup: {
    client: ({ config }) => PostgresClient.fromConfig(config),
    // Credentials and connection during init; a failure here is retried and reported by the first operation.
    warmUp: ({ client }) => client.warmUp(),
  },
  operations: (op) => sqlDatabaseOperations(op, { statements: 'parameterised', namespace: 'schema' }),
  healthCheck: ({ client }) => client.ping(),
});

export const handler = connector.handler;
