/**
 * The Amazon Athena connector: the warehouse-query interface on Athena (`@aws-sdk/client-athena` through the
 * AWS kit): parameterised queries started in the configured workgroup, polled, read one page at a time with
 * Athena's NextToken and cancelled, on every trigger (HTTP, SQS, Step Functions, direct invoke, library use)
 * from one declaration. Long queries are polled from a workflow's Wait/Choice loop (README: Step Functions).
 */
import { defineConnector } from '@circle-core/core';
import { warehouseQueryOperations } from '#shared/interfaces/warehouse-query-operations.ts';
import { ATHENA_CAPABILITIES, AthenaWarehouse } from './client.ts';
import { AthenaConfig, clientOptions } from './config.ts';
import { AthenaStartQueryInput } from './models.ts';

/**
 * @example
 * ```ts
 * const out = await connector.run('run-query', { sql: 'select count(*) as n from orders where customer = ?', params: ['acme'] });
 * ```
 */
export const connector = defineConnector({
  name: 'athena',
  version: '0.1.4',
  config: AthenaConfig,
  capabilities: [...ATHENA_CAPABILITIES],
  setup: { client: ({ config }) => AthenaWarehouse.create(clientOptions(config)) },
  operations: (op) => warehouseQueryOperations(op, { startInput: AthenaStartQueryInput }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
