import { defineConnector } from '@circle-core/core';
import { objectStorageOperations } from '#shared/interfaces/object-storage-operations.ts';
import { S3_CAPABILITIES, S3ObjectStorage } from './client.ts';
import { clientOptions, S3Config } from './config.ts';
import { S3PutObjectInput } from './models.ts';

/**
 * The S3 connector: object storage on Amazon S3 or any S3-compatible endpoint, served to HTTP, SQS,
 * Step Functions and direct invokes by one handler. Its operations are the object storage interface's
 * table (`shared/interfaces/object-storage-operations.ts`), with S3's own put options.
 *
 * @example
 * ```ts
 * const output = await connector.run('put-object', { key: 'hello.txt', body: 'hi' });
 * ```
 */
export const connector = defineConnector({
  name: 's3',
  version: '1.1.7',
  config: S3Config,
  capabilities: S3_CAPABILITIES,
  setup: { client: ({ config }) => S3ObjectStorage.create(clientOptions(config), 's3') },
  operations: (op) => objectStorageOperations(op, { putInput: S3PutObjectInput, url: 'presigned GET URL' }),
  healthCheck: ({ client }) => client.checkBucket(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
