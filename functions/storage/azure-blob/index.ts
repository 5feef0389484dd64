import { defineConnector } from '@circle-core/core';
import { objectStorageOperations } from '#shared/interfaces/object-storage-operations.ts';
import { AZURE_BLOB_CAPABILITIES, AzureBlobStorage } from './client.ts';
import { AzureBlobConfig } from './config.ts';
import { AzurePutObjectInput } from './models.ts';

/**
 * The Azure Blob Storage connector: the object storage interface on Azure containers (azurite locally),
 * served to HTTP, SQS, Step Functions and direct invokes by one handler.
 *
 * @example
 * ```ts
 * const output = await connector.run('put-object', { key: 'hello.txt', body: 'hi' });
 * ```
 */
export const connector = defineConnector({
  name: 'azure-blob',
  version: '1.1.5',
  config: AzureBlobConfig,
  capabilities: AZURE_BLOB_CAPABILITIES,
  setup: {
    secrets: (config) => ({ credentials: config.AZURE_BLOB_SECRET }),
    secretMaxAgeSeconds: (config) => config.AZURE_BLOB_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new AzureBlobStorage({
        container: config.AZURE_BLOB_CONTAINER,
        allowedContainers: config.AZURE_BLOB_ALLOWED_CONTAINERS,
        credentials: { secret: secrets.credentials },
        ...(config.AZURE_BLOB_ENDPOINT === undefined ? {} : { endpoint: config.AZURE_BLOB_ENDPOINT }),
        maxBytes: config.AZURE_BLOB_GET_MAX_BYTES,
        presignExpiresSeconds: config.AZURE_BLOB_PRESIGN_EXPIRES_SECONDS,
        timeoutMs: config.AZURE_BLOB_TIMEOUT_MS,
        maxAttempts: config.AZURE_BLOB_MAX_ATTEMPTS,
      }),
    // The SDK client from the secret during init; a failure here is retried and reported by the first call.
    warmUp: ({ client }) => client.warmUp().catch(() => undefined),
  },
  operations: (op) => objectStorageOperations(op, { putInput: AzurePutObjectInput, url: 'SAS URL' }),
  healthCheck: ({ client }) => client.checkContainer(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
