/**
 * The models of `chunk-object`, the object storage interface's chunker (the `rag-ingest` workflow's first
 * step): a text object split into overlapping chunks (`shared/text/chunk.ts`), written back to the store
 * as batch parts that later states read by key (claim check: chunk texts never travel in Step Functions
 * state), each chunk with an id derived from the object's key, its version and the chunk's index.
 */
import * as z from 'zod';
import { KeyPrefix, MAX_INLINE_BYTES, ObjectKey, ObjectRef } from './object-storage.ts';
import { MAX_BATCH } from './vector-store.ts';

/**
 * The most code points in one chunk: a chunk is also stored as vector metadata, where a string is at most
 * 4 096 UTF-16 units (a code point is one or two).
 */
export const MAX_CHUNK_SIZE = 2_000;

/** The most batch parts one call writes (a state carries their keys). */
export const MAX_BATCHES = 1_000;

export const ChunkObjectInput = ObjectRef.extend({
  size: z.int().min(50).max(MAX_CHUNK_SIZE).default(1_000).describe('Most code points per chunk'),
  overlap: z
    .int()
    .min(0)
    .max(MAX_CHUNK_SIZE - 1)
    .default(200)
    .describe('Code points shared by neighbours'),
  batchSize: z
    .int()
    .min(1)
    .max(MAX_BATCH)
    .default(16)
    .describe('Chunks per batch part (one embed call and one upsert each)'),
  outputPrefix: KeyPrefix.default('chunks/').describe('Where the batch parts go: <prefix><key>/<version>/'),
}).refine((input) => input.overlap < input.size, {
  path: ['overlap'],
  message: 'must be smaller than size',
});
export type ChunkObjectInput = z.input<typeof ChunkObjectInput>;
/** `chunk-object`'s input with its defaults filled in. */
export type ChunkObjectRequest = z.output<typeof ChunkObjectInput>;

/** One chunk in a batch part: its id, text and the metadata stored with its vector. */
export const ChunkRecord = z.object({
  id: z
    .string()
    .describe('<key>@<version>#<index>, or sha256:<hex>#<index> when that is over 512 characters'),
  text: z.string(),
  metadata: z.object({
    source: z.string().describe('The object key'),
    version: z.string().describe('The object version: its version id, else its entity tag'),
    chunk: z.int().describe('The chunk index'),
    start: z.int().describe('First code point'),
    end: z.int().describe('Code point after the last'),
    text: z.string().describe('The chunk text, so a query answers the passage itself'),
  }),
});
export type ChunkRecord = z.infer<typeof ChunkRecord>;

/** The content of one batch part (JSON). */
export const ChunkBatch = z.object({ ids: z.array(z.string()), records: z.array(ChunkRecord) });
export type ChunkBatch = z.infer<typeof ChunkBatch>;

export const ChunkObjectOutput = z.object({
  bucket: z.string().describe('The bucket read and written'),
  key: z.string().describe('The object chunked'),
  version: z.string().describe('Its version id, else its entity tag: part of every chunk id'),
  chunkCount: z.int().min(0).describe('Chunks made'),
  batches: z
    .array(z.object({ key: ObjectKey, count: z.int().min(1), first: z.int().min(0) }))
    .describe('The batch parts written, in order: key, chunks in it, index of its first chunk'),
});
export type ChunkObjectOutput = z.infer<typeof ChunkObjectOutput>;

/** The largest object `chunk-object` reads (inline, as one get). */
export const MAX_CHUNKED_OBJECT_BYTES = MAX_INLINE_BYTES;
