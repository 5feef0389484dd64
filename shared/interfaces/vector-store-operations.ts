/**
 * The vector-store interface's operations, declared once for every vector-store connector (pgvector,
 * Qdrant, Pinecone): a connector whose client implements {@link VectorStore} gets `create-collection`,
 * `describe-collection`, `delete-collection`, `upsert-vectors`, `query-vectors`, `fetch-vectors` and
 * `delete-vectors` with the interface's models.
 */
import type { OperationBuilder } from '@circle-core/core';
import {
  CreateCollectionInput,
  CreateCollectionOutput,
  DeleteCollectionInput,
  DeleteCollectionOutput,
  DeleteVectorsInput,
  DeleteVectorsOutput,
  DescribeCollectionInput,
  DescribeCollectionOutput,
  FetchVectorsInput,
  FetchVectorsOutput,
  QueryVectorsInput,
  QueryVectorsOutput,
  UpsertVectorsInput,
  UpsertVectorsOutput,
} from '../models/vector-store.ts';
import type { VectorStore } from './vector-store.ts';

/**
 * The operation table of a vector-store connector.
 *
 * @example
 * ```ts
 * defineConnector({ ..., operations: (op) => vectorStoreOperations(op) });
 * ```
 */
export function vectorStoreOperations<Config, Client extends VectorStore>(
  op: OperationBuilder<Config, Client>,
) {
  return {
    'create-collection': op({
      effect: 'write',
      description: 'Creates a collection with a dimension and a distance metric (cosine, euclidean or dot)',
      input: CreateCollectionInput,
      output: CreateCollectionOutput,
      run: (input, { client }) => client.createCollection(input),
    }),
    'describe-collection': op({
      description: 'Reads the dimension, metric and record count of a collection',
      input: DescribeCollectionInput,
      output: DescribeCollectionOutput,
      run: (input, { client }) => client.describeCollection(input),
    }),
    'delete-collection': op({
      effect: 'write',
      description: 'Drops a collection and every record in it',
      input: DeleteCollectionInput,
      output: DeleteCollectionOutput,
      run: (input, { client }) => client.deleteCollection(input),
    }),
    'upsert-vectors': op({
      effect: 'write',
      description: 'Writes up to 100 vectors with metadata to a namespace, replacing those with the same id',
      input: UpsertVectorsInput,
      output: UpsertVectorsOutput,
      run: (input, { client }) => client.upsertVectors(input),
    }),
    'query-vectors': op({
      description:
        'Finds the top-k vectors of a namespace closest to a vector, optionally filtered by metadata',
      input: QueryVectorsInput,
      output: QueryVectorsOutput,
      run: (input, { client }) => client.queryVectors(input),
    }),
    'fetch-vectors': op({
      description: 'Reads up to 100 vectors by id, listing the ids that hold none',
      input: FetchVectorsInput,
      output: FetchVectorsOutput,
      run: (input, { client }) => client.fetchVectors(input),
    }),
    'delete-vectors': op({
      effect: 'write',
      description: 'Deletes vectors of a namespace by id or by metadata filter',
      input: DeleteVectorsInput,
      output: DeleteVectorsOutput,
      run: (input, { client }) => client.deleteVectors(input),
    }),
  };
}
