/**
 * Qdrant's REST API as data for the core's REST kit, and the vector-store interface on it: the only file
 * that talks to Qdrant. Failures are mapped once, by the declaration's error table (`errors.ts`).
 *
 * Records live as points: the point id is a UUID derived from (namespace, id), so the interface's free-form
 * ids (Qdrant takes only unsigned integers and UUIDs) and namespaces fit; the payload is
 * `{ namespace, id, metadata }`, and filters are translated onto `metadata.<field>` conditions. Points another
 * tool wrote without a `namespace` (LangChain) are read in the default namespace, by their own point id.
 */
import { createHash } from 'node:crypto';
import { ConflictError, defineRestProvider, parseInput, type RestClient } from '@circle-core/core';
import * as z from 'zod';
import type { VectorStore, VectorStoreCapability } from '#shared/interfaces/vector-store.ts';
import { checkDimension, existingCollection } from '#shared/interfaces/vector-store-checks.ts';
import {
  CreateCollectionInput,
  type CreateCollectionOutput,
  DeleteCollectionInput,
  type DeleteCollectionOutput,
  DeleteVectorsInput,
  type DeleteVectorsOutput,
  DescribeCollectionInput,
  type DescribeCollectionOutput,
  FetchVectorsInput,
  type FetchVectorsOutput,
  type FieldCondition,
  QueryVectorsInput,
  type QueryVectorsOutput,
  StoredMetadata,
  UpsertVectorsInput,
  type UpsertVectorsOutput,
  type VectorFilter,
} from '#shared/models/vector-store.ts';
import { QDRANT_ERRORS } from './errors.ts';

/** Qdrant as data; its settings are `QDRANT_API_URL`, `QDRANT_TIMEOUT_MS`, ... */
export const qdrantApi = defineRestProvider({
  name: 'Qdrant',
  settingsPrefix: 'QDRANT',
  // `.example` never resolves: set the cluster URL (Qdrant Cloud: https://<id>.<region>.cloud.qdrant.io:6333).
  baseUrl: 'https://qdrant.example:6333',
  auth: { kind: 'api-key', header: 'api-key' },
  // Failed answers carry `{ "status": { "error": "..." } }` without a code: the status is the code.
  errors: { codeIn: 'status', rows: QDRANT_ERRORS },
});

type Metric = 'cosine' | 'euclidean' | 'dot';
const DISTANCE: Record<Metric, string> = { cosine: 'Cosine', euclidean: 'Euclid', dot: 'Dot' };
const METRIC: Record<string, Metric> = { Cosine: 'cosine', Euclid: 'euclidean', Dot: 'dot' };

type Scalar = string | number | boolean;
const Payload = z.object({
  // This connector writes text; a point another tool wrote may lack both (LangChain) or hold anything.
  namespace: z.unknown().optional(),
  id: z.unknown().optional(),
  // Any JSON per field: this connector writes flat values, another tool (LangChain) may nest objects or
  // write null or lists of numbers. A `metadata` of null reads as {}.
  metadata: StoredMetadata.nullish(),
});
const Point = z.object({
  id: z.union([z.string(), z.number()]),
  score: z.number().optional(),
  payload: Payload.nullish(),
  vector: z.array(z.number()).nullish(),
});
const CollectionAnswer = z.object({
  result: z.object({
    points_count: z.number().int().nullish(),
    config: z.object({ params: z.object({ vectors: z.unknown() }) }),
  }),
});
const Done = z.object({ result: z.unknown() });
const Points = z.object({ result: z.array(Point) });
const QueryAnswer = z.object({ result: z.object({ points: z.array(Point) }) });

/** The point id of a record: a UUID from its namespace and id, stable across calls and stores. */
export function pointId(namespace: string, id: string): string {
  const hex = createHash('sha256').update(`${namespace}\u0000${id}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Equality as Qdrant can match it: `match.value` takes text, integers and booleans; a fraction is a range. */
function equals(key: string, value: Scalar): object {
  return typeof value === 'number' && !Number.isInteger(value)
    ? { key, range: { gte: value, lte: value } }
    : { key, match: { value } };
}

function condition(field: string, value: FieldCondition): object {
  const key = `metadata.${field}`;
  if (typeof value !== 'object') return equals(key, value);
  if ('$eq' in value) return equals(key, value.$eq);
  if ('$ne' in value) return { must_not: [equals(key, value.$ne)] };
  if ('$in' in value) return { should: value.$in.map((v) => equals(key, v)) };
  if ('$nin' in value) return { must_not: value.$nin.map((v) => equals(key, v)) };
  const range = Object.fromEntries(
    (['$gt', '$gte', '$lt', '$lte'] as const).flatMap((op) =>
      value[op] === undefined ? [] : [[op.slice(1), value[op]]],
    ),
  );
  return { key, range };
}

/**
 * A filter of the interface as Qdrant's: keys of an object are `must`, `$or` is `should`, `$ne`/`$nin`
 * are `must_not` (which, as in the interface, also match points without the field).
 *
 * @example
 * ```ts
 * qdrantFilter({ genre: 'drama', year: { $gte: 2020 } });
 * // { must: [{ key: 'metadata.genre', match: { value: 'drama' } }, { key: 'metadata.year', range: { gte: 2020 } }] }
 * ```
 */
export function qdrantFilter(filter: VectorFilter): { must: object[] } {
  return {
    must: Object.entries(filter).map(([key, value]) => {
      if (key === '$and') return { must: (value as VectorFilter[]).map(qdrantFilter) };
      if (key === '$or') return { should: (value as VectorFilter[]).map(qdrantFilter) };
      return condition(key, value as FieldCondition);
    }),
  };
}

/**
 * The points of a namespace. For reads (`unscoped`), the default namespace `""` also holds the points
 * another tool wrote without a `namespace` (LangChain's `{ page_content, metadata }`): `is_empty` matches a
 * missing, null or empty field. Deletes never reach them.
 */
function scoped(namespace: string, filter: VectorFilter | undefined, unscoped = false): { must: object[] } {
  const own = { key: 'namespace', match: { value: namespace } };
  const scope = unscoped && namespace === '' ? { should: [own, { is_empty: { key: 'namespace' } }] } : own;
  return { must: filter === undefined ? [scope] : [scope, qdrantFilter(filter)] };
}

type StoredPoint = z.infer<typeof Point>;

/** True when a point carries no namespace of this connector's (another tool wrote it). */
const unscopedPoint = (point: StoredPoint): boolean =>
  point.payload?.namespace === undefined || point.payload.namespace === null;

/** A record's id: the payload's `id` this connector wrote, else the point's own id (`"7"`, a UUID). */
const recordId = (point: StoredPoint): string =>
  typeof point.payload?.id === 'string' ? point.payload.id : String(point.id);

/** Ids Qdrant takes as point ids in the form it answers them: a lowercase hyphenated UUID, an integer. */
const POINT_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|0|[1-9]\d{0,15})$/;

function ownPointId(id: string): string | number | undefined {
  if (!POINT_ID.test(id)) return undefined;
  if (id.includes('-')) return id;
  const number = Number(id);
  return Number.isSafeInteger(number) ? number : undefined;
}

const enc = encodeURIComponent;

/**
 * The vector-store interface on Qdrant. Writes wait for the operation to be applied (`wait=true`), so a
 * query right after sees them. Upserts are PUTs and so retried after a 5xx like reads.
 *
 * @example
 * ```ts
 * const store = new QdrantStore(qdrantApi.client({ credential: defineSecret('circle-core/qdrant/api-key') }));
 * await store.createCollection({ collection: 'docs', dimension: 1536, metric: 'cosine' });
 * ```
 */
export class QdrantStore implements VectorStore {
  readonly capabilities: ReadonlySet<VectorStoreCapability> = new Set();
  readonly #rest: RestClient;

  constructor(rest: RestClient) {
    this.#rest = rest;
  }

  async createCollection(raw: CreateCollectionInput): Promise<CreateCollectionOutput> {
    const input = parseInput(CreateCollectionInput, raw);
    try {
      await this.#rest.put(`/collections/${enc(input.collection)}`, Done, {
        json: { vectors: { size: input.dimension, distance: DISTANCE[input.metric] } },
      });
      return {
        collection: input.collection,
        dimension: input.dimension,
        metric: input.metric,
        vectorCount: 0,
        created: true,
      };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
    return existingCollection(input, await this.describeCollection({ collection: input.collection }));
  }

  async describeCollection(raw: DescribeCollectionInput): Promise<DescribeCollectionOutput> {
    const input = parseInput(DescribeCollectionInput, raw);
    const answer = await this.#rest.get(`/collections/${enc(input.collection)}`, CollectionAnswer, {
      notFound: `Collection "${input.collection}"`,
    });
    const vectors = answer.result.config.params.vectors as { size?: unknown; distance?: unknown };
    const metric = METRIC[String(vectors.distance)];
    if (typeof vectors.size !== 'number' || metric === undefined) {
      throw new ConflictError(
        `Collection "${input.collection}" uses named vectors or a metric the interface lacks (Manhattan)`,
      );
    }
    return {
      collection: input.collection,
      dimension: vectors.size,
      metric,
      vectorCount: answer.result.points_count ?? 0,
    };
  }

  async deleteCollection(raw: DeleteCollectionInput): Promise<DeleteCollectionOutput> {
    const input = parseInput(DeleteCollectionInput, raw);
    const answer = await this.#rest.delete(`/collections/${enc(input.collection)}`, Done);
    return { deleted: answer.result === true };
  }

  async upsertVectors(raw: UpsertVectorsInput): Promise<UpsertVectorsOutput> {
    const input = parseInput(UpsertVectorsInput, raw);
    const { dimension } = await this.describeCollection({ collection: input.collection });
    input.vectors.forEach((vector, index) => {
      checkDimension(vector.values, dimension, `/vectors/${index}/values`);
    });
    await this.#rest.put(`/collections/${enc(input.collection)}/points`, Done, {
      query: { wait: 'true' },
      json: {
        points: input.vectors.map((vector) => ({
          id: pointId(input.namespace, vector.id),
          vector: vector.values,
          payload: { namespace: input.namespace, id: vector.id, metadata: vector.metadata ?? {} },
        })),
      },
    });
    return { upserted: input.vectors.length };
  }

  async queryVectors(raw: QueryVectorsInput): Promise<QueryVectorsOutput> {
    const input = parseInput(QueryVectorsInput, raw);
    const { dimension } = await this.describeCollection({ collection: input.collection });
    checkDimension(input.vector, dimension, '/vector');
    const answer = await this.#rest.post(`/collections/${enc(input.collection)}/points/query`, QueryAnswer, {
      json: {
        query: input.vector,
        limit: input.topK,
        filter: scoped(input.namespace, input.filter, true),
        with_payload: true,
        with_vector: input.includeValues,
      },
    });
    return {
      matches: answer.result.points.map((point) => ({
        id: recordId(point),
        score: point.score ?? 0,
        metadata: point.payload?.metadata ?? {},
        ...(input.includeValues ? { values: point.vector ?? [] } : {}),
      })),
    };
  }

  async fetchVectors(raw: FetchVectorsInput): Promise<FetchVectorsOutput> {
    const input = parseInput(FetchVectorsInput, raw);
    // In the default namespace a point another tool wrote is also looked up by its own id.
    const own =
      input.namespace === ''
        ? input.ids.flatMap((id) => {
            const point = ownPointId(id);
            return point === undefined ? [] : [point];
          })
        : [];
    const answer = await this.#rest.post(`/collections/${enc(input.collection)}/points`, Points, {
      json: {
        ids: [...input.ids.map((id) => pointId(input.namespace, id)), ...own],
        with_payload: true,
        with_vector: true,
      },
      notFound: `Collection "${input.collection}"`,
    });
    const found = new Map(
      answer.result.flatMap((point) => {
        const mine = point.payload?.namespace === input.namespace && typeof point.payload.id === 'string';
        const foreign = input.namespace === '' && unscopedPoint(point);
        return mine || foreign ? [[recordId(point), point] as const] : [];
      }),
    );
    return {
      vectors: input.ids.flatMap((id) => {
        const point = found.get(id);
        return point === undefined
          ? []
          : [{ id, values: point.vector ?? [], metadata: point.payload?.metadata ?? {} }];
      }),
      missing: input.ids.filter((id) => !found.has(id)),
    };
  }

  async deleteVectors(raw: DeleteVectorsInput): Promise<DeleteVectorsOutput> {
    const input = parseInput(DeleteVectorsInput, raw);
    const json =
      input.ids !== undefined
        ? { points: input.ids.map((id) => pointId(input.namespace, id)) }
        : { filter: scoped(input.namespace, input.filter) };
    await this.#rest.post(`/collections/${enc(input.collection)}/points/delete`, Done, {
      query: { wait: 'true' },
      json,
      notFound: `Collection "${input.collection}"`,
    });
    return { deleted: null };
  }

  /** The cheapest authenticated call: proves the key and the URL for `health`. */
  async ping(): Promise<void> {
    await this.#rest.get('/collections', Done);
  }

  /** Closes the connection pool. */
  close(): void {
    this.#rest.close();
  }
}
