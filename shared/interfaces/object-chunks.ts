/**
 * `chunk-object`: reads a text object, splits it with the shared chunker (`shared/text/chunk.ts`) and writes
 * the chunks back to the same store as JSON batch parts, so a workflow carries only their keys. It lives on
 * the object storage interface because the text and its chunks both live in the store (claim check), and a
 * state machine needs a function to run code; every object store connector gets it the same way.
 */
import { createHash } from 'node:crypto';
import { PayloadTooLargeError, ValidationError } from '@circle-core/core';
import {
  type ChunkBatch,
  type ChunkObjectOutput,
  type ChunkObjectRequest,
  type ChunkRecord,
  MAX_BATCHES,
  MAX_CHUNKED_OBJECT_BYTES,
} from '../models/object-chunks.ts';
import { chunkText } from '../text/chunk.ts';
import type { ObjectStorage } from './object-storage.ts';

/** Vector ids are at most 512 characters. */
const MAX_ID_LENGTH = 512;

/** The longest key every store takes (S3 and GCS: 1,024 bytes of UTF-8; Azure: 1,024 characters). */
const MAX_PART_KEY_BYTES = 1_024;

/** The last segment of the first batch part's key. */
const FIRST_PART_NAME = 'batch-00000.json';

/**
 * Refuses, naming the caller's fields, a call whose batch part keys would be over the stores' key limit: a
 * store would refuse the part's write (naming its own `/key`, which is no field of this call). Before the
 * read the version is not known and counts as one byte (`exact` false: "at least"); after it, its own length.
 */
function checkPartKeyLength(input: ChunkObjectRequest, folder: string, exact: boolean): void {
  const bytes = Buffer.byteLength(`${folder}${FIRST_PART_NAME}`, 'utf8');
  if (bytes <= MAX_PART_KEY_BYTES) return;
  const length = `${exact ? '' : 'at least '}${bytes} bytes`;
  const over = bytes - MAX_PART_KEY_BYTES;
  const prefixBytes = Buffer.byteLength(input.outputPrefix, 'utf8');
  const issues = [
    {
      pointer: '/key',
      message: `gives batch part keys (<outputPrefix><key>/<version>/${FIRST_PART_NAME}) of ${length}, over the ${MAX_PART_KEY_BYTES.toLocaleString('en-US')}-byte key limit: shorten the key or outputPrefix by at least ${over} bytes`,
    },
  ];
  if (prefixBytes > 0) {
    issues.push({
      pointer: '/outputPrefix',
      message: `adds its ${prefixBytes} bytes to every batch part key; a shorter one (or "") leaves the key more room`,
    });
  }
  throw new ValidationError(
    `The batch part keys would be ${length}, over the ${MAX_PART_KEY_BYTES.toLocaleString('en-US')}-byte key limit`,
    issues,
  );
}

/** The folder of the batch parts of `key` at `version`: `<outputPrefix><folder of key>/<version>/`. */
function partFolder(outputPrefix: string, key: string, version: string): string {
  return `${outputPrefix}${chunkFolder(key)}/${version.replaceAll(/[^\w.-]/g, '_')}/`;
}

/**
 * The id of chunk `index` of version `version` of `key`: readable when it fits, else hashed.
 *
 * @example
 * ```ts
 * chunkId('docs/a.md', '9b2cf535', 3); // 'docs/a.md@9b2cf535#3'
 * ```
 */
export function chunkId(key: string, version: string, index: number): string {
  const readable = `${key}@${version}#${index}`;
  if (readable.length <= MAX_ID_LENGTH) return readable;
  return `sha256:${createHash('sha256').update(`${key}\n${version}`).digest('hex')}#${index}`;
}

/**
 * The folder an object's parts go under: its key, or `sha256-<hex of the key>` for a key ending in `/` (a
 * folder marker holding text), whose parts under `<key>/` would have an empty segment, a key no store
 * accepts. Distinct keys never share a folder: no key of a file ends in `/`.
 */
function chunkFolder(key: string): string {
  return key.endsWith('/') ? `sha256-${createHash('sha256').update(key).digest('hex')}` : key;
}

/**
 * Chunks one object into batch parts under `<outputPrefix><key>/<version>/batch-<n>.json` (a key ending in
 * `/`: `<outputPrefix>sha256-<hex>/<version>/`, {@link chunkFolder}). The same
 * object version always gives the same parts with the same ids, so running it again rewrites identical
 * content and a vector store that already holds the ids needs nothing new. Part keys over 1,024 bytes are
 * refused as a 400 naming `/key` and `/outputPrefix`, before the read when the key is too long whatever
 * the version, else before the first write.
 *
 * @example
 * ```ts
 * const { batches } = await chunkObject(store, { key: 'docs/a.md', size: 1000, overlap: 200, batchSize: 16, outputPrefix: 'chunks/' });
 * ```
 */
export async function chunkObject(
  store: ObjectStorage,
  input: ChunkObjectRequest,
): Promise<ChunkObjectOutput> {
  // Before anything is read: the part keys with the shortest version (one character) must fit.
  checkPartKeyLength(input, partFolder(input.outputPrefix, input.key, '_'), false);
  const ref = input.bucket === undefined ? { key: input.key } : { bucket: input.bucket, key: input.key };
  const object = await store.getObject({ ...ref, encoding: 'utf8', maxBytes: MAX_CHUNKED_OBJECT_BYTES });
  if (object.tooLarge) {
    throw new PayloadTooLargeError(MAX_CHUNKED_OBJECT_BYTES, {
      message: `The object is over ${MAX_CHUNKED_OBJECT_BYTES} bytes, the most chunk-object reads`,
    });
  }
  const version = object.versionId ?? object.etag;
  if (version === undefined || version === '') {
    throw new ValidationError('The object has neither a version id nor an entity tag to key its chunks by', [
      { pointer: '/key', message: 'names an object without a version id or entity tag' },
    ]);
  }
  const chunks = chunkText(object.body, { size: input.size, overlap: input.overlap });
  const batchCount = Math.ceil(chunks.length / input.batchSize);
  if (batchCount > MAX_BATCHES) {
    throw new ValidationError(`The object gives ${batchCount} batches, over ${MAX_BATCHES}`, [
      {
        pointer: '/batchSize',
        message: `too small for this object: make it at least ${Math.ceil(chunks.length / MAX_BATCHES)}`,
      },
    ]);
  }
  const folder = partFolder(input.outputPrefix, object.key, version);
  // Before anything is written: with the object's own version.
  checkPartKeyLength(input, folder, true);
  const batches: ChunkObjectOutput['batches'] = [];
  for (let first = 0; first < chunks.length; first += input.batchSize) {
    const records: ChunkRecord[] = chunks.slice(first, first + input.batchSize).map((chunk) => ({
      id: chunkId(object.key, version, chunk.index),
      text: chunk.text,
      metadata: {
        source: object.key,
        version,
        chunk: chunk.index,
        start: chunk.start,
        end: chunk.end,
        text: chunk.text,
      },
    }));
    const batch: ChunkBatch = { ids: records.map((record) => record.id), records };
    const key = `${folder}batch-${String(batches.length).padStart(5, '0')}.json`;
    await store.putObject({
      ...(input.bucket === undefined ? {} : { bucket: input.bucket }),
      key,
      body: JSON.stringify(batch),
      contentType: 'application/json',
    });
    batches.push({ key, count: records.length, first });
  }
  return { bucket: object.bucket, key: object.key, version, chunkCount: chunks.length, batches };
}
