/**
 * The DuckDB connector: DuckDB embedded as a warehouse. SQL over CSV, NDJSON and Parquet files of object
 * storage (the query's `sources`), started, polled, paged and cancelled through the warehouse-query
 * interface's operations on every trigger (HTTP, SQS, Step Functions, direct invoke, library use).
 */
import { defineConnector } from '@circle-core/core';
import { warehouseQueryOperations } from '#shared/interfaces/warehouse-query-operations.ts';
import { DUCKDB_CAPABILITIES, DuckDbClient } from './client.ts';
import { clientOptions, DuckdbConfig } from './config.ts';
import { DuckDbStartQueryInput } from './models.ts';

/**
 * @example
 * ```ts
 * const out = await connector.run('run-query', { sql: 'select count(*) as n from orders', sources: [{ name: 'orders', url: 's3://lake/orders.csv' }] });
 * ```
 */
export const connector = defineConnector({
  name: 'duckdb',
  version: '0.2.1',
  config: DuckdbConfig,
  capabilities: [...DUCKDB_CAPABILITIES],
  setup: {
    client: ({ config }) => new DuckDbClient(clientOptions(config)),
    // The native library loads and the database opens during init, not in the first request.
    warmUp: async ({ client }) => {
      await client.warmUp();
    },
  },
  operations: (op) => warehouseQueryOperations(op, { startInput: DuckDbStartQueryInput }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
