/**
 * The Pinecone connector: the vector-store interface on Pinecone's REST API (control plane for indexes, each
 * index's data plane for records), on every trigger (HTTP, SQS, Step Functions, direct invoke, library use).
 */
import { defineConnector } from '@circle-core/core';
import { vectorStoreOperations } from '#shared/interfaces/vector-store-operations.ts';
import { PineconeStore } from './client.ts';
import { PineconeConfig } from './config.ts';

/**
 * @example
 * ```ts
 * const { matches } = await connector.run('query-vectors', { collection: 'docs', vector: [0.1, 0.2, 0.3], topK: 3 });
 * ```
 */
export const connector = defineConnector({
  name: 'pinecone',
  version: '0.3.2',
  config: PineconeConfig,
  capabilities: [],
  setup: {
    secrets: (config) => ({ apiKey: config.PINECONE_API_KEY_SECRET }),
    secretMaxAgeSeconds: (config) => config.PINECONE_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) => new PineconeStore(config, secrets.apiKey),
  },
  operations: (op) => vectorStoreOperations(op),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
