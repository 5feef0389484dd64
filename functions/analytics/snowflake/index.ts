/**
 * The Snowflake connector: the warehouse-query interface on Snowflake's SQL API v2 with key-pair auth,
 * statements started, polled, paged by result partition and cancelled, on every trigger (HTTP, SQS, Step
 * Functions, direct invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { warehouseQueryOperations } from '#shared/interfaces/warehouse-query-operations.ts';
import { snowflakeKeyPairAuth } from './auth.ts';
import { SNOWFLAKE_CAPABILITIES, SnowflakeWarehouse, snowflakeApi } from './client.ts';
import { SnowflakeConfig } from './config.ts';
import { SnowflakeStartQueryInput } from './models.ts';

/**
 * @example
 * ```ts
 * const out = await connector.run('run-query', { sql: 'select count(*) as n from orders where customer = ?', params: ['acme'] });
 * ```
 */
export const connector = defineConnector({
  name: 'snowflake',
  version: '0.1.7',
  config: SnowflakeConfig,
  capabilities: [...SNOWFLAKE_CAPABILITIES],
  setup: {
    secrets: (config) => ({ privateKey: config.SNOWFLAKE_PRIVATE_KEY_SECRET }),
    secretMaxAgeSeconds: (config) => config.SNOWFLAKE_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) => {
      const auth = snowflakeKeyPairAuth({
        account: config.SNOWFLAKE_ACCOUNT,
        user: config.SNOWFLAKE_USER,
        privateKey: secrets.privateKey,
      });
      return new SnowflakeWarehouse(snowflakeApi.clientFromSettings(config, { auth }), {
        account: config.SNOWFLAKE_ACCOUNT,
        user: config.SNOWFLAKE_USER,
        warehouse: config.SNOWFLAKE_WAREHOUSE,
        database: config.SNOWFLAKE_DATABASE,
        schema: config.SNOWFLAKE_SCHEMA,
        role: config.SNOWFLAKE_ROLE,
        defaultTimeoutSeconds: config.SNOWFLAKE_QUERY_TIMEOUT_SECONDS,
      });
    },
  },
  operations: (op) => warehouseQueryOperations(op, { startInput: SnowflakeStartQueryInput }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
