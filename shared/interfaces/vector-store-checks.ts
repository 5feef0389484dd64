/**
 * The checks every vector-store implementation makes alike, so each answers them in the same words: a vector
 * of the wrong dimension, and a create that finds the collection already there.
 */
import { ConflictError, ValidationError } from '@circle-core/core';
import type { CreateCollectionOutput, DescribeCollectionOutput } from '../models/vector-store.ts';

/**
 * Throws a `ValidationError` naming `pointer` when a vector's length is not the collection's dimension.
 *
 * @example
 * ```ts
 * input.vectors.forEach((v, i) => checkDimension(v.values, dimension, `/vectors/${i}/values`));
 * ```
 */
export function checkDimension(values: readonly number[], dimension: number, pointer: string): void {
  if (values.length === dimension) return;
  throw new ValidationError(
    `The vector at ${pointer} has ${values.length} dimensions; the collection has ${dimension}`,
    [{ pointer, message: `expected ${dimension} numbers` }],
  );
}

/**
 * The answer to creating a collection that exists: `created: false` when it has the dimension and metric
 * asked for, else a `ConflictError` naming what it has.
 *
 * @example
 * ```ts
 * return existingCollection(input, await store.describeCollection({ collection: input.collection }));
 * ```
 */
export function existingCollection(
  asked: { dimension: number; metric: string },
  existing: DescribeCollectionOutput,
): CreateCollectionOutput {
  if (existing.dimension !== asked.dimension || existing.metric !== asked.metric) {
    throw new ConflictError(
      `Collection "${existing.collection}" exists with dimension ${existing.dimension} and metric ${existing.metric}`,
    );
  }
  return { ...existing, created: false };
}
