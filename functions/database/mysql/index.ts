import { defineConnector } from '@circle-core/core';
import { sqlDatabaseOperations } from '#shared/interfaces/sql-database-operations.ts';
import { CAPABILITIES, MysqlClient } from './client.ts';
import { MysqlConfig } from './config.ts';

/**
 * The MySQL/MariaDB connector: prepared statements, transactional batches, bulk inserts and catalog
 * introspection over one connection per container, served on every trigger by one Lambda handler.
 *
 * @example
 * ```ts
 * const out = await connector.run('query', { sql: 'select now() as at' });
 * ```
 */
export const connector = defineConnector({
  name: 'mysql',
  version: '1.0.4',
  config: MysqlConfig,
  capabilities: CAPABILITIES,
  setup: {
    client: ({ config }) => MysqlClient.fromConfig(config),
    // Credentials and connection during init; a failure here is retried and reported by the first operation.
    warmUp: ({ client }) => client.warmUp(),
  },
  operations: (op) => sqlDatabaseOperations(op, { statements: 'prepared', namespace: 'database' }),
  healthCheck: ({ client }) => client.ping(),
});

export const handler = connector.handler;
