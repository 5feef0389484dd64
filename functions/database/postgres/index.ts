import { defineConnector } from '@circle-core/core';
import { POSTGRES_CAPABILITIES, PostgresClient } from './client.ts';
import { PostgresConfig } from './config.ts';
import {
  DescribeTableInput,
  DescribeTableOutput,
  ExecuteInput,
  ExecuteOutput,
  InsertRowsInput,
  InsertRowsOutput,
  ListTablesInput,
  ListTablesOutput,
  QueryInput,
  QueryOutput,
} from './models.ts';

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
  version: '1.0.0',
  config: PostgresConfig,
  capabilities: [...POSTGRES_CAPABILITIES],
  setup: async (config) => {
    const client = PostgresClient.fromConfig(config);
    // Secret and connection during init; a failure here is retried and reported by the first operation.
    await client.warmUp();
    return client;
  },
  operations: (op) => ({
    query: op({
      description: 'Runs one parameterised SQL statement and returns its rows, row count and columns',
      input: QueryInput,
      output: QueryOutput,
      run: (input, { client }) => client.query(input),
    }),
    execute: op({
      effect: 'write',
      description: 'Runs several parameterised statements in one transaction, all or nothing',
      input: ExecuteInput,
      output: ExecuteOutput,
      run: (input, { client }) => client.execute(input),
    }),
    'insert-rows': op({
      effect: 'write',
      description: 'Inserts many rows into one table with batched multi-row INSERTs in one transaction',
      input: InsertRowsInput,
      output: InsertRowsOutput,
      run: (input, { client }) => client.insertRows(input),
    }),
    'list-tables': op({
      description: 'Lists tables and views, optionally of one schema',
      input: ListTablesInput,
      output: ListTablesOutput,
      run: (input, { client }) => client.listTables(input),
    }),
    'describe-table': op({
      description: 'Describes a table: columns, types, nullability, defaults and primary key',
      input: DescribeTableInput,
      output: DescribeTableOutput,
      run: (input, { client }) => client.describeTable(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

export const handler = connector.handler;
