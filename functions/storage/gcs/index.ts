import { defineConnector } from '@circle-core/core';
import { objectStorageOperations } from '#shared/interfaces/object-storage-operations.ts';
import { serviceAccountAuth } from './auth.ts';
import { GCS_CAPABILITIES, GcsStorage, gcsApi } from './client.ts';
import { GcsConfig } from './config.ts';
import { GcsPutObjectInput } from './models.ts';

/**
 * The Google Cloud Storage connector: the object storage interface on GCS buckets through the JSON API,
 * served to HTTP, SQS, Step Functions and direct invokes by one handler.
 *
 * @example
 * ```ts
 * const output = await connector.run('put-object', { key: 'hello.txt', body: 'hi' });
 * ```
 */
export const connector = defineConnector({
  name: 'gcs',
  version: '0.1.4',
  config: GcsConfig,
  capabilities: GCS_CAPABILITIES,
  setup: {
    secrets: (config) => ({ credentials: config.GCS_CREDENTIALS_SECRET }),
    secretMaxAgeSeconds: (config) => config.GCS_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new GcsStorage({
        rest: gcsApi.clientFromSettings(config, {
          auth: serviceAccountAuth(secrets.credentials, config.GCS_TOKEN_URL),
        }),
        credentials: secrets.credentials,
        endpoint: config.GCS_API_URL,
        bucket: config.GCS_BUCKET,
        allowedBuckets: config.GCS_ALLOWED_BUCKETS,
        maxBytes: config.GCS_GET_MAX_BYTES,
        presignExpiresSeconds: config.GCS_PRESIGN_EXPIRES_SECONDS,
      }),
  },
  operations: (op) => objectStorageOperations(op, { putInput: GcsPutObjectInput, url: 'V4 signed URL' }),
  healthCheck: ({ client }) => client.checkBucket(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
