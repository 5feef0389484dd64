/**
 * The object storage interface's operations, declared once for every object store connector (S3, Azure
 * Blob, Google Cloud Storage): a connector whose client implements {@link ObjectStorage} gets `put-object`,
 * `get-object`, `head-object`, `list-objects`, `delete-object`, `copy-object` and `presign-url` with the
 * interface's models, giving only its own put input (provider options) and the name of its URLs.
 */
import type { OperationBuilder } from '@circle-core/core';
import type * as z from 'zod';
import { ChunkObjectInput, ChunkObjectOutput } from '../models/object-chunks.ts';
import {
  CopyObjectInput,
  CopyObjectOutput,
  DeleteObjectInput,
  DeleteObjectOutput,
  GetObjectInput,
  GetObjectOutput,
  HeadObjectOutput,
  ListObjectsInput,
  ListObjectsOutput,
  ObjectRef,
  PresignUrlInput,
  PresignUrlOutput,
  type PutObjectInput,
  PutObjectOutput,
} from '../models/object-storage.ts';
import { chunkObject } from './object-chunks.ts';
import type { ObjectStorage } from './object-storage.ts';

/** What differs per store in the operation table. */
export interface ObjectStorageWording<P extends z.ZodType<PutObjectInput>> {
  /** `put-object`'s input: the interface's fields, extended with the store's own options. */
  putInput: P;
  /** What `get-object` answers beyond maxBytes: `presigned GET URL`, `SAS URL`, `signed URL`. */
  url: string;
}

/**
 * The operation table of an object store connector.
 *
 * @example
 * ```ts
 * defineConnector({ ..., operations: (op) => objectStorageOperations(op, { putInput: AzurePutObjectInput, url: 'SAS URL' }) });
 * ```
 */
export function objectStorageOperations<
  Config,
  Client extends ObjectStorage,
  P extends z.ZodType<PutObjectInput>,
>(op: OperationBuilder<Config, Client>, wording: ObjectStorageWording<P>) {
  return {
    'put-object': op({
      description: 'Stores an object from text or base64, with media type and user metadata',
      effect: 'write',
      input: wording.putInput,
      output: PutObjectOutput,
      run: (input, { client }) => client.putObject(input),
    }),
    'get-object': op({
      description: `Reads an object inline, or answers a ${wording.url} when it exceeds maxBytes`,
      input: GetObjectInput,
      output: GetObjectOutput,
      run: (input, { client }) => client.getObject(input),
    }),
    'head-object': op({
      description: 'Reports the size, media type, entity tag and metadata of an object',
      input: ObjectRef,
      output: HeadObjectOutput,
      run: (input, { client }) => client.headObject(input),
    }),
    'list-objects': op({
      description: 'Lists one page of keys under a prefix, grouped by a delimiter',
      input: ListObjectsInput,
      output: ListObjectsOutput,
      run: (input, { client }) => client.listObjects(input),
    }),
    'chunk-object': op({
      description:
        'Splits a text object into overlapping chunks written back as batch parts, ids keyed by object version',
      effect: 'write',
      input: ChunkObjectInput,
      output: ChunkObjectOutput,
      run: (input, { client }) => chunkObject(client, input),
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
  };
}
