/**
 * The pgvector client: the vector-store interface over the PostgreSQL connection kit (`shared/sql`), one
 * table per collection. It is the library API (usable outside Lambda) and the only code the operations
 * call; every failure leaves it as a core error.
 */
import { ConflictError, NotFoundError, parseInput, ValidationError } from '@circle-core/core';
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
  type StoredMetadata,
  UpsertVectorsInput,
  type UpsertVectorsOutput,
  type VectorFilter,
} from '#shared/models/vector-store.ts';
import { SqlClientBase } from '#shared/sql/client-base.ts';
import { readOnlyRefusal } from '#shared/sql/errors.ts';
import { type ConnectionOptions, PostgresConnection, type Session } from '#shared/sql/postgres-connection.ts';
import { credentialsFromSettings } from '#shared/sql/settings.ts';
import { PGVECTOR_ENGINE, type PgvectorConfig } from './config.ts';
import {
  createTableSql,
  DESCRIBE_SQL,
  filterSql,
  HAS_EXTENSION_SQL,
  MARKER_PREFIX,
  METRIC_SQL,
  type Metric,
  markSql,
  tableName,
  upsertSql,
  vectorText,
} from './sql.ts';

/** How to build a {@link PgvectorClient}. */
export interface PgvectorClientOptions extends ConnectionOptions {
  /** Schema holding one table per collection. Default `public`. */
  schema?: string;
}

/**
 * The largest squared length (sum of squares) of a vector: pgvector sums squares and products in float32,
 * so two vectors this long or shorter have a finite distance, dot product and norm in every metric
 * (|a - b|^2 <= 4 * 1e37, with room for float32 rounding, stays below 3.4e38).
 */
export const MAX_SQUARED_LENGTH = 1e37;

/**
 * Refuses, naming `pointer`, a vector whose scores pgvector cannot compute: one too long (a distance or
 * norm overflows float32, a score of Infinity or NaN), and one of length 0 in float32 (all numbers round
 * to 0, like 1e-46, or their squares do, like 1e-30): no direction, so no cosine similarity (NaN), and
 * stored as the all-0 vector the model refuses.
 */
export function checkLength(values: readonly number[], metric: Metric, pointer: string): void {
  let squared = 0;
  let float32Squared = 0;
  for (const value of values) {
    const stored = Math.fround(value);
    squared += stored * stored;
    float32Squared = Math.fround(float32Squared + Math.fround(stored * stored));
  }
  const refuse = (problem: string): never => {
    throw new ValidationError(`The vector at ${pointer} ${problem}`, [{ pointer, message: problem }]);
  };
  if (squared > MAX_SQUARED_LENGTH) {
    refuse(
      `is too long for a finite score: its squared length ${squared.toExponential(3)} is over ${MAX_SQUARED_LENGTH} (scores are computed in float32)`,
    );
  }
  if (values.every((value) => Math.fround(value) === 0)) {
    refuse('has length 0 in float32 (every number rounds to 0): it has no direction to compare');
  }
  if (metric === 'cosine' && float32Squared === 0) {
    refuse('has length 0 in float32 (its squares round to 0), so it has no cosine similarity');
  }
}

/** Side effects a caller (a test) may replace when building from config. */
export type PgvectorClientDependencies = Pick<ConnectionOptions, 'createClient' | 'remainingTimeMs'>;

export const PGVECTOR_CAPABILITIES: ReadonlySet<VectorStoreCapability> = new Set(['exact-delete-count']);

interface Shape {
  dimension: number;
  metric: Metric;
}

type Row = Record<string, unknown>;

/**
 * The `metadata` column as a read returns it: what the row holds, any JSON per field (another writer of the
 * table may nest objects or store null or lists of numbers); a jsonb `null` is no metadata, `{}`.
 */
const storedMetadata = (value: unknown): StoredMetadata =>
  value === null || value === undefined ? {} : (value as StoredMetadata);

/**
 * Collections as tables `(namespace, id, embedding vector(n), metadata jsonb)` in one schema; queries are
 * exact (no approximate index), so results are the true top k.
 *
 * @example
 * ```ts
 * const store = new PgvectorClient({ credentials: urlCredentials('postgres://postgres@127.0.0.1/test'),
 *   ssl: 'disable', statementTimeoutMs: 15_000, connectTimeoutMs: 5_000, readOnly: false, applicationName: 'rag' });
 * await store.createCollection({ collection: 'docs', dimension: 1536, metric: 'cosine' });
 * ```
 */
export class PgvectorClient extends SqlClientBase<Session> implements VectorStore {
  readonly capabilities = PGVECTOR_CAPABILITIES;
  readonly #schema: string;

  constructor(options: PgvectorClientOptions) {
    super(new PostgresConnection(options), options.credentials, options.readOnly);
    this.#schema = options.schema ?? 'public';
  }

  /**
   * Builds the client the connector's configuration describes.
   *
   * @example
   * ```ts
   * const store = PgvectorClient.fromConfig(loadConfig(PgvectorConfig));
   * ```
   */
  static fromConfig(config: PgvectorConfig, dependencies: PgvectorClientDependencies = {}): PgvectorClient {
    return new PgvectorClient({
      credentials: credentialsFromSettings(config, PGVECTOR_ENGINE),
      ssl: config.PG_SSL,
      statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
      readOnly: config.PG_READ_ONLY,
      applicationName: config.PG_APPLICATION_NAME,
      schema: config.PGVECTOR_SCHEMA,
      ...dependencies,
    });
  }

  async createCollection(raw: CreateCollectionInput): Promise<CreateCollectionOutput> {
    const input = parseInput(CreateCollectionInput, raw);
    this.#refuseWrite('create-collection');
    const table = tableName(this.#schema, input.collection);
    return this.connection.use(async (session) => {
      const existing = await this.#shape(session, input.collection);
      if (existing === undefined) {
        // The extension needs CREATE on the database (rds_superuser on RDS) once; later calls skip it.
        if ((await session.run(HAS_EXTENSION_SQL)).rowCount === 0) {
          await session.run('create extension if not exists vector');
        }
        await session.run('begin');
        await session.run(createTableSql(table, input.dimension));
        await session.run(markSql(table, input.metric));
        await session.run('commit');
        return {
          collection: input.collection,
          dimension: input.dimension,
          metric: input.metric,
          vectorCount: 0,
          created: true,
        };
      }
      return existingCollection(input, await this.#describe(session, input.collection, existing));
    }, 'write');
  }

  async describeCollection(raw: DescribeCollectionInput): Promise<DescribeCollectionOutput> {
    const input = parseInput(DescribeCollectionInput, raw);
    return this.connection.use(
      async (session) =>
        this.#describe(session, input.collection, await this.#require(session, input.collection)),
      'read',
    );
  }

  async deleteCollection(raw: DeleteCollectionInput): Promise<DeleteCollectionOutput> {
    const input = parseInput(DeleteCollectionInput, raw);
    this.#refuseWrite('delete-collection');
    return this.connection.use(async (session) => {
      // Only a table this connector made (its marked column) is ever dropped.
      if ((await this.#shape(session, input.collection)) === undefined) return { deleted: false };
      await session.run(`drop table ${tableName(this.#schema, input.collection)}`);
      return { deleted: true };
    }, 'write');
  }

  async upsertVectors(raw: UpsertVectorsInput): Promise<UpsertVectorsOutput> {
    const input = parseInput(UpsertVectorsInput, raw);
    this.#refuseWrite('upsert-vectors');
    return this.connection.use(async (session) => {
      const shape = await this.#require(session, input.collection);
      input.vectors.forEach((vector, index) => {
        checkDimension(vector.values, shape.dimension, `/vectors/${index}/values`);
        checkLength(vector.values, shape.metric, `/vectors/${index}/values`);
      });
      const result = await session.run(upsertSql(tableName(this.#schema, input.collection)), [
        input.namespace,
        input.vectors.map((vector) => vector.id),
        input.vectors.map((vector) => vectorText(vector.values)),
        input.vectors.map((vector) => JSON.stringify(vector.metadata ?? {})),
      ]);
      // pg reads the count from the INSERT's command tag, which always carries one.
      return { upserted: result.rowCount as number };
    }, 'write');
  }

  async queryVectors(raw: QueryVectorsInput): Promise<QueryVectorsOutput> {
    const input = parseInput(QueryVectorsInput, raw);
    return this.connection.use(async (session) => {
      const shape = await this.#require(session, input.collection);
      checkDimension(input.vector, shape.dimension, '/vector');
      checkLength(input.vector, shape.metric, '/vector');
      const metric = METRIC_SQL[shape.metric];
      const score = metric.score('$2::vector');
      const filter = input.filter === undefined ? undefined : filterSql(input.filter, 3);
      // A score that is not a finite number (a vector stored before the length checks) ranks nothing: left out.
      const sql = `select id, metadata, ${score} as score${input.includeValues ? ', embedding::text as vector' : ''}
from ${tableName(this.#schema, input.collection)}
where namespace = $1 and ${score} > '-Infinity'::float8 and ${score} < 'Infinity'::float8${filter === undefined ? '' : ` and ${filter.sql}`}
order by embedding ${metric.operator} $2::vector limit $3`;
      const result = await session.run(sql, [
        input.namespace,
        vectorText(input.vector),
        input.topK,
        ...(filter?.params ?? []),
      ]);
      return {
        matches: (result.rows as Row[]).map((row) => ({
          id: String(row['id']),
          score: Number(row['score']),
          metadata: storedMetadata(row['metadata']),
          ...(input.includeValues ? { values: JSON.parse(String(row['vector'])) as number[] } : {}),
        })),
      };
    }, 'read');
  }

  async fetchVectors(raw: FetchVectorsInput): Promise<FetchVectorsOutput> {
    const input = parseInput(FetchVectorsInput, raw);
    return this.connection.use(async (session) => {
      await this.#require(session, input.collection);
      const result = await session.run(
        `select id, embedding::text as vector, metadata from ${tableName(this.#schema, input.collection)} where namespace = $1 and id = any($2::text[])`,
        [input.namespace, input.ids],
      );
      const found = new Map((result.rows as Row[]).map((row) => [String(row['id']), row]));
      return {
        vectors: input.ids.flatMap((id) => {
          const row = found.get(id);
          if (row === undefined) return [];
          return [
            {
              id,
              values: JSON.parse(String(row['vector'])) as number[],
              metadata: storedMetadata(row['metadata']),
            },
          ];
        }),
        missing: input.ids.filter((id) => !found.has(id)),
      };
    }, 'read');
  }

  async deleteVectors(raw: DeleteVectorsInput): Promise<DeleteVectorsOutput> {
    const input = parseInput(DeleteVectorsInput, raw);
    this.#refuseWrite('delete-vectors');
    return this.connection.use(async (session) => {
      await this.#require(session, input.collection);
      const table = tableName(this.#schema, input.collection);
      // The input holds exactly one of ids and filter (its model refuses both or neither).
      const result =
        input.ids !== undefined
          ? await session.run(`delete from ${table} where namespace = $1 and id = any($2::text[])`, [
              input.namespace,
              input.ids,
            ])
          : await (async () => {
              const filter = filterSql(input.filter as VectorFilter, 1);
              return session.run(`delete from ${table} where namespace = $1 and ${filter.sql}`, [
                input.namespace,
                ...filter.params,
              ]);
            })();
      // pg reads the count from the DELETE's command tag, which always carries one.
      return { deleted: result.rowCount as number };
    }, 'write');
  }

  #refuseWrite(operation: string): void {
    if (this.readOnly) throw readOnlyRefusal('PG', operation);
  }

  /** Dimension and metric of a collection this connector made; undefined when there is none. */
  async #shape(session: Session, collection: string): Promise<Shape | undefined> {
    const result = await session.run(DESCRIBE_SQL, [this.#schema, collection]);
    const row = result.rows[0] as Row | undefined;
    if (row === undefined) return undefined;
    const marker = String(row['marker'] ?? '');
    const metric = marker.startsWith(MARKER_PREFIX) ? marker.slice(MARKER_PREFIX.length) : '';
    if (row['type'] !== 'vector' || !(metric in METRIC_SQL)) {
      throw new ConflictError(
        `Table "${collection}" exists in schema "${this.#schema}" but is not a vector collection`,
      );
    }
    return { dimension: Number(row['dimension']), metric: metric as Metric };
  }

  async #require(session: Session, collection: string): Promise<Shape> {
    const shape = await this.#shape(session, collection);
    if (shape === undefined) {
      throw new NotFoundError(`Collection "${collection}" was not found in schema "${this.#schema}"`);
    }
    return shape;
  }

  async #describe(session: Session, collection: string, shape: Shape): Promise<DescribeCollectionOutput> {
    const count = await session.run(`select count(*)::int as n from ${tableName(this.#schema, collection)}`);
    return { collection, ...shape, vectorCount: Number((count.rows[0] as Row)['n']) };
  }
}
