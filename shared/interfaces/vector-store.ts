/**
 * The vector-store interface: what pgvector, Qdrant and Pinecone offer in common. Workflows (rag-ingest,
 * rag-answer) program against this, not against one store. Models and the filter language live in
 * `shared/models/vector-store.ts`.
 */
import type {
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
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities a vector store may offer:
 * - `exact-delete-count`: `deleteVectors` says how many records it deleted (pgvector; Qdrant and Pinecone
 *   answer `deleted: null`).
 */
export type VectorStoreCapability = 'exact-delete-count';

/**
 * One vector store. A collection has a fixed dimension and metric; records (id, vector, metadata) live in a
 * namespace of it, and namespaces never see each other's records; a record another tool wrote without
 * a namespace (LangChain's Qdrant points) is read in the default namespace `""`, by the store's own id. What a store writes is flat metadata whose
 * values are text, numbers, booleans or lists of text; what it reads back is the metadata as the store holds
 * it, any JSON value per field, since another tool may have written the record (LangChain's nested
 * `loc: { lines: { from, to } }`, `null`, lists of numbers): a read never fails on a value's type, and a
 * filter on a flat field still works beside nested fields of the same records (filters on nested fields
 * are not offered). A filter condition on a list field holds when any element satisfies it (Pinecone's
 * semantics: `$eq`/`$in` when the list contains the value, `$ne`/`$nin` when it contains none, never a range). Every method validates its input
 * (throwing `ValidationError`, also for a vector of the wrong dimension) and fails only with the core error
 * taxonomy: `NotFoundError` for a missing collection, `ConflictError` for creating a collection that exists
 * with another dimension or metric, `RateLimitedError`/`UnavailableError`/`TimeoutError` for transient
 * trouble. Messages never contain vectors or metadata values.
 *
 * Guarantees a caller can rely on across stores: a write is visible to the next query once the call
 * returned (Qdrant with `wait=true`, Pinecone's fakes and pgvector at once; a real Pinecone serverless index
 * is eventually consistent, see its README); `queryVectors` returns the `topK` closest records that match
 * the filter, closest first, scored by the collection's metric (exact search on pgvector, which has no
 * approximate index by default). In a cosine collection the values read back may be scaled to unit length
 * (Qdrant normalises them on write); the direction, and so every cosine score, is the same.
 *
 * @example
 * ```ts
 * await store.upsertVectors({ collection: 'docs', vectors: [{ id: 'a#1', values: embedding, metadata: { doc: 'a' } }] });
 * const { matches } = await store.queryVectors({ collection: 'docs', vector: question, topK: 3, filter: { doc: 'a' } });
 * ```
 */
export interface VectorStore extends HasCapabilities<VectorStoreCapability> {
  /** Creates a collection; an existing one with the same dimension and metric answers `created: false`. */
  createCollection(input: CreateCollectionInput): Promise<CreateCollectionOutput>;
  /** Dimension, metric and record count of a collection; `NotFoundError` when it does not exist. */
  describeCollection(input: DescribeCollectionInput): Promise<DescribeCollectionOutput>;
  /** Drops a collection and every record in it; a missing one answers `deleted: false`. */
  deleteCollection(input: DeleteCollectionInput): Promise<DeleteCollectionOutput>;
  /** Writes up to 100 records to a namespace, replacing those with the same id. */
  upsertVectors(input: UpsertVectorsInput): Promise<UpsertVectorsOutput>;
  /** The top-k records of a namespace closest to a vector, optionally filtered by metadata. */
  queryVectors(input: QueryVectorsInput): Promise<QueryVectorsOutput>;
  /** Reads up to 100 records by id; missing ids are listed, not errors. */
  fetchVectors(input: FetchVectorsInput): Promise<FetchVectorsOutput>;
  /** Deletes records of a namespace by id or by metadata filter. */
  deleteVectors(input: DeleteVectorsInput): Promise<DeleteVectorsOutput>;
}
