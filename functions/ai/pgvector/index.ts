import { defineConnector } from '@circle-core/core';
import { vectorStoreOperations } from '#shared/interfaces/vector-store-operations.ts';
import { PGVECTOR_CAPABILITIES, PgvectorClient } from './client.ts';
import { PgvectorConfig } from './config.ts';

/**
 * The pgvector connector: vector collections as PostgreSQL tables (the `vector` extension), batched
 * upserts, exact top-k queries with metadata filters, deletes by id or filter, namespaces, over one
 * connection per container, served on every trigger by one Lambda handler.
 *
 * @example
 * ```ts
 * const out = await connector.run('query-vectors', { collection: 'docs', vector: [0.1, 0.2, 0.3], topK: 3 });
 * ```
 */
export const connector = defineConnector({
  name: 'pgvector',
  version: '0.3.0',
  config: PgvectorConfig,
  capabilities: [...PGVECTOR_CAPABILITIES],
  setup: {
    client: ({ config }) => PgvectorClient.fromConfig(config),
    // Credentials and connection during init; a failure here is retried and reported by the first operation.
    warmUp: ({ client }) => client.warmUp(),
  },
  operations: (op) => vectorStoreOperations(op),
  healthCheck: ({ client }) => client.ping(),
});

export const handler = connector.handler;
