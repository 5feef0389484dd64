/**
 * The Qdrant connector: the vector-store interface on Qdrant's REST API, on every trigger (HTTP, SQS,
 * Step Functions, direct invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { vectorStoreOperations } from '#shared/interfaces/vector-store-operations.ts';
import { QdrantStore, qdrantApi } from './client.ts';
import { QdrantConfig } from './config.ts';

/**
 * @example
 * ```ts
 * const { matches } = await connector.run('query-vectors', { collection: 'docs', vector: [0.1, 0.2, 0.3], topK: 3 });
 * ```
 */
export const connector = defineConnector({
  name: 'qdrant',
  version: '0.3.1',
  config: QdrantConfig,
  capabilities: [],
  setup: {
    secrets: (config) => ({ apiKey: config.QDRANT_API_KEY_SECRET }),
    secretMaxAgeSeconds: (config) => config.QDRANT_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new QdrantStore(qdrantApi.clientFromSettings(config, { credential: secrets.apiKey })),
  },
  operations: (op) => vectorStoreOperations(op),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
