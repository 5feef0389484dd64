/**
 * Pinecone's REST API (version 2025-04) as data for the core's REST kit, and the vector-store interface on
 * it: the only file that talks to Pinecone. A collection is a serverless index: created, described and
 * deleted on the control plane (`PINECONE_API_URL`), its records written and read on its own data-plane
 * host, which the index model names. Failures are mapped once, by the error table (`errors.ts`).
 */
import {
  ConflictError,
  type CredentialSource,
  defineRestProvider,
  NotFoundError,
  parseInput,
  type RestClient,
  UnavailableError,
  UnexpectedResponseError,
} from '@circle-core/core';
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
  QueryVectorsInput,
  type QueryVectorsOutput,
  StoredMetadata,
  UpsertVectorsInput,
  type UpsertVectorsOutput,
} from '#shared/models/vector-store.ts';
import type { PineconeSettings } from './config.ts';
import { PINECONE_ERRORS, pineconeFailure } from './errors.ts';

/** Pinecone as data; its settings are `PINECONE_API_URL`, `PINECONE_TIMEOUT_MS`, ... */
export const pineconeApi = defineRestProvider({
  name: 'Pinecone',
  settingsPrefix: 'PINECONE',
  baseUrl: 'https://api.pinecone.io',
  auth: { kind: 'api-key', header: 'Api-Key' },
  headers: { 'X-Pinecone-API-Version': '2025-04' },
  errors: { codeIn: 'status', rows: PINECONE_ERRORS },
  // 403 "Deletion protection is enabled" is the index's state: a conflict, not a refused key.
  inspect: pineconeFailure,
});

type Metric = 'cosine' | 'euclidean' | 'dot';
const PINECONE_METRIC: Record<Metric, string> = {
  cosine: 'cosine',
  euclidean: 'euclidean',
  dot: 'dotproduct',
};
const METRIC: Record<string, Metric> = { cosine: 'cosine', euclidean: 'euclidean', dotproduct: 'dot' };

/** A data-plane host as Pinecone names it (`docs-abc123.svc.aped-4627-b74a.pinecone.io`), never from input. */
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~-]+)*$/;

/**
 * Metadata as Pinecone answers it. Pinecone holds only text, numbers, booleans and lists of text; the answer
 * is read as the interface's stored metadata (any JSON per field), so a read never fails on a value type.
 */
const Metadata = StoredMetadata;
const IndexModel = z.object({
  name: z.string(),
  dimension: z.number().int(),
  metric: z.string(),
  host: z.string(),
  status: z.object({ ready: z.boolean(), state: z.string().optional() }).optional(),
});
const Stats = z.object({ totalVectorCount: z.number().int().optional() });
const Match = z.object({
  id: z.string(),
  score: z.number(),
  values: z.array(z.number()).optional(),
  metadata: Metadata.optional(),
});
const QueryAnswer = z.object({ matches: z.array(Match) });
const FetchAnswer = z.object({
  vectors: z.record(
    z.string(),
    z.object({
      id: z.string(),
      values: z.array(z.number()),
      metadata: Metadata.optional(),
    }),
  ),
});
const Upserted = z.object({ upsertedCount: z.number().int() });
const Anything = z.unknown();

const enc = encodeURIComponent;

/**
 * The vector-store interface on Pinecone. The interface's filter language is Pinecone's own, so filters
 * travel as they are; a euclidean score (Pinecone's squared distance) is given back as the distance.
 *
 * @example
 * ```ts
 * const store = new PineconeStore(loadConfig(PineconeConfig), defineSecret('circle-core/pinecone/api-key'));
 * await store.createCollection({ collection: 'docs', dimension: 1536, metric: 'cosine' });
 * ```
 */
export class PineconeStore implements VectorStore {
  readonly capabilities: ReadonlySet<VectorStoreCapability> = new Set();
  readonly #settings: PineconeSettings;
  readonly #credential: CredentialSource;
  readonly #control: RestClient;
  /** index name -> its data-plane client, dimension and metric, from its model. */
  readonly #data = new Map<string, { client: RestClient; dimension: number; metric: Metric }>();
  /**
   * index host -> its data-plane client. Kept until `close()`: concurrent invocations (Lambda Managed
   * Instances runs many at once in one container) may have a call in flight on it while another reads the
   * index again or deletes it, and closing it would cut that call's connection.
   */
  readonly #hosts = new Map<string, RestClient>();

  constructor(settings: PineconeSettings, credential: CredentialSource) {
    this.#settings = settings;
    this.#credential = credential;
    this.#control = pineconeApi.clientFromSettings(settings, { credential });
  }

  async createCollection(raw: CreateCollectionInput): Promise<CreateCollectionOutput> {
    const input = parseInput(CreateCollectionInput, raw);
    try {
      await this.#control.post('/indexes', IndexModel, {
        json: {
          name: input.collection,
          dimension: input.dimension,
          metric: PINECONE_METRIC[input.metric],
          spec: {
            serverless: { cloud: this.#settings.PINECONE_CLOUD, region: this.#settings.PINECONE_REGION },
          },
        },
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
    const index = await this.#index(input.collection, true);
    const stats = await index.client.post('/describe_index_stats', Stats, { json: {} });
    return {
      collection: input.collection,
      dimension: index.dimension,
      metric: index.metric,
      vectorCount: stats.totalVectorCount ?? 0,
    };
  }

  async deleteCollection(raw: DeleteCollectionInput): Promise<DeleteCollectionOutput> {
    const input = parseInput(DeleteCollectionInput, raw);
    this.#forget(input.collection);
    try {
      await this.#control.delete(`/indexes/${enc(input.collection)}`, Anything);
      return { deleted: true };
    } catch (error) {
      if (error instanceof NotFoundError) return { deleted: false };
      throw error;
    }
  }

  async upsertVectors(raw: UpsertVectorsInput): Promise<UpsertVectorsOutput> {
    const input = parseInput(UpsertVectorsInput, raw);
    const index = await this.#index(input.collection);
    input.vectors.forEach((vector, i) => {
      checkDimension(vector.values, index.dimension, `/vectors/${i}/values`);
    });
    const answer = await index.client.post('/vectors/upsert', Upserted, {
      json: {
        namespace: input.namespace,
        vectors: input.vectors.map((v) => ({
          id: v.id,
          values: v.values,
          ...(v.metadata ? { metadata: v.metadata } : {}),
        })),
      },
    });
    return { upserted: answer.upsertedCount };
  }

  async queryVectors(raw: QueryVectorsInput): Promise<QueryVectorsOutput> {
    const input = parseInput(QueryVectorsInput, raw);
    const index = await this.#index(input.collection);
    checkDimension(input.vector, index.dimension, '/vector');
    const answer = await index.client.post('/query', QueryAnswer, {
      json: {
        namespace: input.namespace,
        vector: input.vector,
        topK: input.topK,
        includeMetadata: true,
        includeValues: input.includeValues,
        ...(input.filter === undefined ? {} : { filter: input.filter }),
      },
    });
    return {
      matches: answer.matches.map((match) => ({
        id: match.id,
        // Pinecone's euclidean score is the squared distance; the interface's is the distance.
        score: index.metric === 'euclidean' ? Math.sqrt(Math.max(0, match.score)) : match.score,
        metadata: match.metadata ?? {},
        ...(input.includeValues ? { values: match.values ?? [] } : {}),
      })),
    };
  }

  async fetchVectors(raw: FetchVectorsInput): Promise<FetchVectorsOutput> {
    const input = parseInput(FetchVectorsInput, raw);
    const index = await this.#index(input.collection);
    const query = new URLSearchParams([
      ...input.ids.map((id): [string, string] => ['ids', id]),
      ['namespace', input.namespace],
    ]);
    const answer = await index.client.get(`/vectors/fetch?${query}`, FetchAnswer);
    return {
      vectors: input.ids.flatMap((id) => {
        const found = answer.vectors[id];
        return found === undefined ? [] : [{ id, values: found.values, metadata: found.metadata ?? {} }];
      }),
      missing: input.ids.filter((id) => answer.vectors[id] === undefined),
    };
  }

  async deleteVectors(raw: DeleteVectorsInput): Promise<DeleteVectorsOutput> {
    const input = parseInput(DeleteVectorsInput, raw);
    const index = await this.#index(input.collection);
    await index.client.post('/vectors/delete', Anything, {
      json: {
        namespace: input.namespace,
        ...(input.ids === undefined ? { filter: input.filter } : { ids: input.ids }),
      },
    });
    return { deleted: null };
  }

  /** The cheapest authenticated call: proves the key and the URL for `health`. */
  async ping(): Promise<void> {
    await this.#control.get('/indexes', Anything);
  }

  /** Closes the connection pools. */
  close(): void {
    this.#control.close();
    for (const client of this.#hosts.values()) client.close();
    this.#hosts.clear();
    this.#data.clear();
  }

  /** The index's data-plane client, dimension and metric, from its model (cached; `fresh` reads it again). */
  async #index(
    name: string,
    fresh = false,
  ): Promise<{ client: RestClient; dimension: number; metric: Metric }> {
    const known = this.#data.get(name);
    if (known !== undefined && !fresh) return known;
    const model = await this.#control.get(`/indexes/${enc(name)}`, IndexModel, {
      notFound: `Collection "${name}"`,
    });
    // describe_index's `status.ready`: an index still initialising (or scaling, terminating) does not take
    // data-plane calls yet; Pinecone's advice is to wait until it is ready. Retryable, and not cached.
    if (model.status?.ready === false) {
      const state = /^[A-Za-z]{1,32}$/.test(model.status.state ?? '') ? model.status.state : 'not ready';
      this.#forget(name);
      throw new UnavailableError(
        `Pinecone index "${name}" is not ready yet (${state}); try again in a few seconds`,
        { details: { provider: 'Pinecone', state } },
      );
    }
    const metric = METRIC[model.metric];
    if (metric === undefined)
      throw new UnexpectedResponseError(`Pinecone answered an unknown metric for "${name}"`);
    if (!HOST.test(model.host))
      throw new UnexpectedResponseError(`Pinecone answered an invalid host for "${name}"`);
    // The data plane speaks the control plane's scheme (https; http only for a local fake).
    const scheme = new URL(this.#settings.PINECONE_API_URL).protocol;
    let client = this.#hosts.get(model.host);
    if (client === undefined) {
      client = pineconeApi.clientFromSettings(
        { ...this.#settings, PINECONE_API_URL: `${scheme}//${model.host}` },
        { credential: this.#credential },
      );
      this.#hosts.set(model.host, client);
    }
    const index = { client, dimension: model.dimension, metric };
    this.#data.set(name, index);
    return index;
  }

  /** Forgets the index's model; its host's client stays open for calls other invocations have in flight. */
  #forget(name: string): void {
    this.#data.delete(name);
  }
}
