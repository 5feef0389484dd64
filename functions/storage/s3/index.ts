import { defineConnector } from '@circle-core/core';
import { S3_CAPABILITIES, S3ObjectStorage } from './client.ts';
import { clientOptions, S3Config } from './config.ts';
import {
  CopyObjectInput,
  CopyObjectOutput,
  DeleteObjectInput,
  DeleteObjectOutput,
  GetObjectInput,
  GetObjectOutput,
  HeadObjectInput,
  HeadObjectOutput,
  ListObjectsInput,
  ListObjectsOutput,
  PresignUrlInput,
  PresignUrlOutput,
  PutObjectOutput,
  S3PutObjectInput,
} from './models.ts';

/**
 * The S3 connector: object storage on Amazon S3 or any S3-compatible endpoint, served to HTTP, SQS,
 * Step Functions and direct invokes by one handler.
 *
 * @example
 * ```ts
 * const output = await connector.run('put-object', { key: 'hello.txt', body: 'hi' });
 * ```
 */
export const connector = defineConnector({
  name: 's3',
  version: '1.0.0',
  config: S3Config,
  capabilities: S3_CAPABILITIES,
  setup: { client: ({ config }) => S3ObjectStorage.create(clientOptions(config), 's3') },
  operations: (op) => ({
    'put-object': op({
      description: 'Stores an object from text or base64, with media type and user metadata',
      effect: 'write',
      input: S3PutObjectInput,
      output: PutObjectOutput,
      run: (input, { client }) => client.putObject(input),
    }),
    'get-object': op({
      description: 'Reads an object inline, or answers a presigned GET URL when it exceeds maxBytes',
      input: GetObjectInput,
      output: GetObjectOutput,
      run: (input, { client }) => client.getObject(input),
    }),
    'head-object': op({
      description: 'Reports the size, media type, entity tag and metadata of an object',
      input: HeadObjectInput,
      output: HeadObjectOutput,
      run: (input, { client }) => client.headObject(input),
    }),
    'list-objects': op({
      description: 'Lists one page of keys under a prefix, grouped by a delimiter',
      input: ListObjectsInput,
      output: ListObjectsOutput,
      run: (input, { client }) => client.listObjects(input),
    }),
    'delete-object': op({
      description: 'Deletes an object (deleting a missing object succeeds)',
      effect: 'write',
      input: DeleteObjectInput,
      output: DeleteObjectOutput,
      run: (input, { client }) => client.deleteObject(input),
    }),
    'copy-object': op({
      description: 'Copies an object server-side, optionally replacing its media type and metadata',
      effect: 'write',
      input: CopyObjectInput,
      output: CopyObjectOutput,
      run: (input, { client }) => client.copyObject(input),
    }),
    'presign-url': op({
      description: 'Creates a time-limited URL to download (GET) or upload (PUT) one object',
      input: PresignUrlInput,
      output: PresignUrlOutput,
      run: (input, { client }) => client.presignUrl(input),
    }),
  }),
  healthCheck: ({ client }) => client.checkBucket(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
