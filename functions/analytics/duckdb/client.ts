/**
 * DuckDB embedded, as a warehouse: one in-process database per container, each query on a connection of
 * its own that runs in the background while its handle is polled, its result held for a while to be paged.
 * SQL cannot open files itself (external access is off and the configuration locked); the files a query
 * reads are its `sources`, fetched through the S3 API or taken from the allowed local directory, and seen
 * by the SQL as views. The only file the operations call.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, statfsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Client } from '@aws-sdk/client-s3';
import {
  ConflictError,
  type ConnectorError,
  createAwsClient,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  TimeoutError,
  ValidationError,
} from '@circle-core/core';
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  ResultReturnType,
} from '@duckdb/node-api';
import { allowedBucket, readObject, type S3ObjectAddress, s3ObjectTarget } from '#shared/data/s3-objects.ts';
import type { WarehouseQuery, WarehouseQueryCapability } from '#shared/interfaces/warehouse-query.ts';
import {
  type ColumnKind,
  FINAL_QUERY_STATES,
  type GetQueryResultsInput,
  type QueryRef,
  type QueryResultsPage,
  type QueryStatus,
  type ResultColumn,
  type WarehouseParam,
} from '#shared/models/warehouse-query.ts';
import { type DuckdbLimits, toDuckdbError } from './errors.ts';
import type { DuckDbStartQueryInput, QuerySource, SourceFormat } from './models.ts';
import { columnKind, toJsonValue } from './values.ts';

/** What DuckDB offers beyond the interface's core. */
export const DUCKDB_CAPABILITIES: readonly WarehouseQueryCapability[] = ['query-timeout', 'file-queries'];

export interface DuckDbClientOptions {
  /** DuckDB's memory limit; beyond it, work spills to `tempDirectory` or fails. */
  memoryLimitMb: number;
  threads: number;
  /** Where DuckDB spills and where sources fetched from S3 are written (`/tmp/...` in Lambda). */
  tempDirectory: string;
  /** The one local directory `file:` sources may name; unset refuses them. */
  localDirectory?: string | undefined;
  /** Buckets `s3://` sources may name. */
  sourceBuckets: readonly string[];
  s3Endpoint?: string | undefined;
  s3ForcePathStyle: boolean;
  /** Largest object one source may be. */
  sourceMaxBytes: number;
  /** Bound of one source's download; the invocation's time left may cut it shorter. */
  s3TimeoutMs: number;
  /** A result larger than this fails the query (page a smaller query, or COPY elsewhere). */
  maxResultRows: number;
  /**
   * The most bytes (as JSON) a result may hold in the function's memory, all its pages together; a larger
   * one fails the query with a 413 rather than the function running out of memory. Default 64 MiB.
   */
  maxResultBytes?: number;
  /** How long a final query's state and result stay readable. */
  resultTtlSeconds: number;
  /** Queries held at once; the oldest final ones go first. */
  maxQueries: number;
  /** A query with no `timeoutSeconds` is stopped after this long. */
  defaultTimeoutSeconds: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface Entry {
  status: QueryStatus;
  columns: ResultColumn[];
  rows: unknown[][];
  error: ConnectorError | undefined;
  connection: DuckDBConnection | undefined;
  done: Promise<void>;
  /** Why an interrupt happened: the caller cancelled, or the query's time ran out. */
  stop: 'cancel' | 'timeout' | undefined;
  expiresAt: number;
}

/** How often a stop is repeated while the query has not yet noticed it. */
const INTERRUPT_REPEAT_MS = 20;

/** DUCKDB_MAX_RESULT_BYTES by default: 64 MiB of JSON held per result. */
export const DEFAULT_MAX_RESULT_BYTES = 67_108_864;

const EXTENSION: Record<SourceFormat, string> = { csv: '.csv', ndjson: '.ndjson', parquet: '.parquet' };

function sourceFormat(source: QuerySource): SourceFormat {
  if (source.format !== undefined) return source.format;
  const name = source.url.toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.parquet')) return 'parquet';
  if (/\.(ndjson|jsonl|json)$/.test(name)) return 'ndjson';
  throw new ValidationError(`Source "${source.name}": say its format (csv, ndjson or parquet)`, [
    { pointer: '/sources', message: 'format not given and not recognisable from the name' },
  ]);
}

const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const identifier = (text: string): string => `"${text.replaceAll('"', '""')}"`;

function reader(format: SourceFormat, path: string): string {
  if (format === 'csv') return `read_csv(${literal(path)}, header = true)`;
  if (format === 'ndjson') return `read_json(${literal(path)}, format = 'newline_delimited')`;
  return `read_parquet(${literal(path)})`;
}

/**
 * @example
 * ```ts
 * const duck = new DuckDbClient({ memoryLimitMb: 256, threads: 2, tempDirectory: '/tmp/duckdb', sourceBuckets: [],
 *   s3ForcePathStyle: false, sourceMaxBytes: 1e8, s3TimeoutMs: 10_000, maxResultRows: 100_000,
 *   resultTtlSeconds: 900, maxQueries: 100, defaultTimeoutSeconds: 300 });
 * const status = await duck.startQuery({ sql: 'select 1 as one' });
 * ```
 */
export class DuckDbClient implements WarehouseQuery {
  readonly capabilities: ReadonlySet<WarehouseQueryCapability> = new Set(DUCKDB_CAPABILITIES);
  readonly #options: DuckDbClientOptions;
  readonly #queries = new Map<string, Entry>();
  readonly #byKey = new Map<string, string>();
  /**
   * Starts under way, by idempotency key: a second start with the key while the first still opens the
   * database or fetches its sources (invocations run at once on Lambda Managed Instances, or an SQS batch)
   * answers the first query instead of starting another.
   */
  readonly #starting = new Map<string, Promise<QueryStatus>>();
  readonly #now: () => number;
  #instance: Promise<DuckDBInstance> | undefined;
  #s3: Promise<S3Client> | undefined;

  constructor(options: DuckDbClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get #sourcesDirectory(): string {
    return join(resolve(this.#options.tempDirectory), 'sources');
  }

  /** The limits errors name: the memory limit, and the size of the disk under the temp directory. */
  #limits(): DuckdbLimits {
    let tempBytes: number | undefined;
    try {
      const disk = statfsSync(resolve(this.#options.tempDirectory));
      tempBytes = disk.blocks * disk.bsize;
    } catch {
      tempBytes = undefined;
    }
    return { memoryLimitMb: this.#options.memoryLimitMb, tempBytes };
  }

  /** Opens the database (once per container) and locks what SQL may reach. */
  warmUp(): Promise<DuckDBInstance> {
    this.#instance ??= this.#open().catch((error: unknown) => {
      this.#instance = undefined;
      throw toDuckdbError(error, 'open');
    });
    return this.#instance;
  }

  async #open(): Promise<DuckDBInstance> {
    const options = this.#options;
    await mkdir(this.#sourcesDirectory, { recursive: true });
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads),
      memory_limit: `${options.memoryLimitMb}MB`,
      // A directory of this database's own: DuckDB names its spill files alike in every database
      // (duckdb_temp_storage_DEFAULT-0.tmp), and on Lambda Managed Instances each worker thread opens its
      // database with the same DUCKDB_TEMP_DIRECTORY on the /tmp they all share
      // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html): a
      // shared spill directory corrupts both queries or crashes the process. DuckDB creates the directory
      // and removes it when the database closes.
      temp_directory: join(resolve(options.tempDirectory), `spill-${randomUUID()}`),
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    });
    const allowed = [this.#sourcesDirectory, options.localDirectory]
      .filter((path): path is string => path !== undefined)
      .map((path) => literal(`${resolve(path)}${sep}`));
    const setup = await instance.connect();
    try {
      // UTC whatever the process's TZ (DuckDB takes its session zone from it otherwise), as Athena's: a
      // TIMESTAMPTZ literal or the date of one means the same on a laptop west of UTC as in Lambda.
      await setup.run("SET GLOBAL TimeZone = 'UTC'");
      await setup.run(`SET allowed_directories = [${allowed.join(', ')}]`);
      await setup.run('SET enable_external_access = false');
      await setup.run('SET lock_configuration = true');
    } finally {
      setup.closeSync();
    }
    return instance;
  }

  /** Runs `select 1` on a fresh connection, for `health`. */
  async ping(): Promise<void> {
    const connection = await (await this.warmUp()).connect();
    try {
      await connection.run('select 1');
    } finally {
      connection.closeSync();
    }
  }

  async startQuery(input: DuckDbStartQueryInput): Promise<QueryStatus> {
    this.#evict();
    const key = input.idempotencyKey;
    if (key === undefined) return this.#start(input);
    const earlier = this.#byKey.get(key);
    const entry = earlier === undefined ? undefined : this.#queries.get(earlier);
    if (entry !== undefined) return { ...entry.status };
    const starting = this.#starting.get(key);
    if (starting !== undefined) return { ...(await starting) };
    const started = this.#start(input).finally(() => this.#starting.delete(key));
    this.#starting.set(key, started);
    return { ...(await started) };
  }

  async #start(input: DuckDbStartQueryInput): Promise<QueryStatus> {
    const params = input.params ?? [];
    const queryId = randomUUID();
    const connection = await (await this.warmUp()).connect();
    const files: string[] = [];
    let prepared: DuckDBPreparedStatement;
    try {
      await this.#createSources(connection, queryId, input.sources ?? [], files);
      const statements = await connection.extractStatements(input.sql);
      if (statements.count !== 1) {
        throw new ValidationError(`The SQL holds ${statements.count} statements; send exactly one`, [
          { pointer: '/sql', message: 'expected exactly one statement' },
        ]);
      }
      prepared = await statements.prepare(0);
      if (prepared.parameterCount !== params.length) {
        throw new ValidationError(
          `The SQL has ${prepared.parameterCount} placeholders but ${params.length} params were given`,
          [{ pointer: '/params', message: `expected ${prepared.parameterCount} values` }],
        );
      }
      params.forEach((param, index) => {
        bind(prepared, index + 1, param);
      });
    } catch (error) {
      connection.closeSync();
      await removeFiles(files);
      throw toDuckdbError(error, 'start-query', params, this.#limits());
    }
    const now = new Date(this.#now()).toISOString();
    const entry: Entry = {
      status: {
        queryId,
        state: 'running',
        failure: null,
        submittedAt: now,
        completedAt: null,
        rowCount: null,
      },
      columns: [],
      rows: [],
      error: undefined,
      connection,
      done: Promise.resolve(),
      stop: undefined,
      expiresAt: Number.POSITIVE_INFINITY,
    };
    this.#queries.set(queryId, entry);
    if (input.idempotencyKey !== undefined) this.#byKey.set(input.idempotencyKey, queryId);
    const seconds = input.timeoutSeconds ?? this.#options.defaultTimeoutSeconds;
    entry.done = this.#execute(entry, prepared, params, seconds * 1000).finally(() => removeFiles(files));
    return { ...entry.status };
  }

  async #execute(
    entry: Entry,
    prepared: DuckDBPreparedStatement,
    params: readonly WarehouseParam[],
    timeoutMs: number,
  ): Promise<void> {
    const connection = entry.connection as DuckDBConnection;
    const timer = setTimeout(() => this.#stop(entry, 'timeout'), timeoutMs);
    timer.unref();
    try {
      const result = await prepared.stream();
      entry.columns = result.columnNames().map((name, index) => {
        const type = result.columnType(index);
        return { name, type: type.toString(), kind: columnKind(type) };
      });
      const kinds = entry.columns.map((column) => column.kind);
      const held = { bytes: 0 };
      for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; ) {
        if (entry.rows.length + chunk.rowCount > this.#options.maxResultRows) {
          throw new ValidationError(
            `The result has more than DUCKDB_MAX_RESULT_ROWS (${this.#options.maxResultRows}) rows: add a ` +
              'LIMIT or aggregate, or page with LIMIT and OFFSET in several queries',
            [{ pointer: '/sql', message: 'result too large' }],
          );
        }
        this.#keep(entry, chunk.getRows(), kinds, held);
        chunk = await result.fetchChunk();
      }
      const changed = result.returnType === ResultReturnType.CHANGED_ROWS ? result.rowsChanged : undefined;
      this.#finish(entry, 'succeeded', changed ?? entry.rows.length);
    } catch (error) {
      if (entry.stop === 'cancel') {
        this.#finish(entry, 'cancelled', null);
      } else {
        entry.error =
          entry.stop === 'timeout'
            ? new TimeoutError(`The query ran longer than its ${timeoutMs / 1000} s and was stopped`, {
                details: { provider: 'DuckDB', code: 'INTERRUPT' },
              })
            : toDuckdbError(error, 'query', params, this.#limits());
        const code = String(entry.error.details?.['code'] ?? entry.error.name);
        entry.rows = [];
        this.#finish(entry, 'failed', null, { code, message: entry.error.message });
      }
    } finally {
      clearTimeout(timer);
      connection.closeSync();
      entry.connection = undefined;
    }
  }

  /** Adds rows to a result as JSON values, within DUCKDB_MAX_RESULT_BYTES of memory. */
  #keep(
    entry: Entry,
    rows: readonly unknown[][],
    kinds: readonly ColumnKind[],
    held: { bytes: number },
  ): void {
    const maxBytes = this.#options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
    for (const row of rows) {
      const values = row.map((value, i) => toJsonValue(value, kinds[i] as ColumnKind));
      held.bytes += Buffer.byteLength(JSON.stringify(values));
      if (held.bytes > maxBytes) {
        throw new PayloadTooLargeError(maxBytes, {
          message:
            `The result holds more than DUCKDB_MAX_RESULT_BYTES (${maxBytes} bytes) as JSON, more than the ` +
            "function keeps in memory: raise it together with the function's memorySize, select fewer or " +
            'narrower columns, or page with LIMIT and OFFSET in several queries',
        });
      }
      entry.rows.push(values);
    }
  }

  #finish(
    entry: Entry,
    state: QueryStatus['state'],
    rowCount: number | null,
    failure: QueryStatus['failure'] = null,
  ): void {
    entry.status = {
      ...entry.status,
      state,
      rowCount,
      failure,
      completedAt: new Date(this.#now()).toISOString(),
    };
    entry.expiresAt = this.#now() + this.#options.resultTtlSeconds * 1000;
  }

  async #createSources(
    connection: DuckDBConnection,
    queryId: string,
    sources: readonly QuerySource[],
    files: string[],
  ): Promise<void> {
    const names = new Set<string>();
    for (const [index, source] of sources.entries()) {
      if (names.has(source.name)) {
        throw new ValidationError(`Two sources are named "${source.name}"`, [
          { pointer: `/sources/${index}/name`, message: 'names must differ' },
        ]);
      }
      names.add(source.name);
      const format = sourceFormat(source);
      const path = source.url.startsWith('s3://')
        ? await this.#download(source, `${queryId}-${index}${EXTENSION[format]}`, files)
        : this.#localPath(source, index);
      await connection.run(
        `CREATE TEMP VIEW ${identifier(source.name)} AS SELECT * FROM ${reader(format, path)}`,
      );
    }
  }

  #localPath(source: QuerySource, index: number): string {
    const root = this.#options.localDirectory;
    if (root === undefined) {
      throw new ForbiddenError('file: sources are off: DUCKDB_LOCAL_DIRECTORY is not set');
    }
    const path = resolve(root, source.url.slice('file:'.length));
    const inside = relative(resolve(root), path);
    if (inside === '' || inside.startsWith('..') || resolve(inside) === inside) {
      throw new ValidationError(`Source "${source.name}" leaves DUCKDB_LOCAL_DIRECTORY`, [
        { pointer: `/sources/${index}/url`, message: 'expected a path inside the local directory' },
      ]);
    }
    return path;
  }

  async #download(source: QuerySource, fileName: string, files: string[]): Promise<string> {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(source.url) as RegExpExecArray;
    const bucket = match[1] as string;
    const key = match[2] as string;
    allowedBucket(bucket, this.#options.sourceBuckets, 'DUCKDB_SOURCE_BUCKETS');
    const gz = key.toLowerCase().endsWith('.gz') ? '.gz' : '';
    const path = join(this.#sourcesDirectory, `${fileName}${gz}`);
    files.push(path);
    this.#s3 ??= createAwsClient(S3Client, 'duckdb', {
      endpoint: this.#options.s3Endpoint,
      extra: { forcePathStyle: this.#options.s3ForcePathStyle },
    });
    const address: S3ObjectAddress = {
      s3: await this.#s3,
      bucket,
      key,
      timeoutMs: this.#options.s3TimeoutMs,
      target: (action) => s3ObjectTarget(action, bucket, key),
    };
    const budget = { used: 0, maxBytes: this.#options.sourceMaxBytes };
    await pipeline(Readable.from(readObject(address, { budget })), createWriteStream(path));
    return path;
  }

  #entry(queryId: string): Entry {
    this.#evict();
    const entry = this.#queries.get(queryId);
    if (entry === undefined) {
      throw new NotFoundError(
        `No query ${queryId} here: DuckDB is embedded, so a handle is known only to the container that ` +
          'started it, until DUCKDB_RESULT_TTL_SECONDS after it ended',
      );
    }
    return entry;
  }

  #evict(): void {
    const now = this.#now();
    for (const [id, entry] of this.#queries) {
      if (entry.expiresAt <= now) this.#queries.delete(id);
    }
    const final = [...this.#queries].filter(([, entry]) => FINAL_QUERY_STATES.has(entry.status.state));
    for (const [id] of final.slice(0, Math.max(0, this.#queries.size - this.#options.maxQueries))) {
      this.#queries.delete(id);
    }
    for (const [key, id] of this.#byKey) if (!this.#queries.has(id)) this.#byKey.delete(key);
  }

  async getQuery(input: QueryRef): Promise<QueryStatus> {
    return { ...this.#entry(input.queryId).status };
  }

  async getQueryResults(input: GetQueryResultsInput): Promise<QueryResultsPage> {
    const entry = this.#entry(input.queryId);
    const { state } = entry.status;
    if (state === 'failed') throw entry.error as ConnectorError;
    if (state !== 'succeeded') {
      throw new ConflictError(`Query ${input.queryId} is ${state}: results exist once it has succeeded`);
    }
    const offset = input.cursor === undefined ? 0 : readCursor(input.cursor, input.queryId);
    const size = input.pageSize ?? 1_000;
    const rows = entry.rows.slice(offset, offset + size);
    const next = offset + rows.length;
    return {
      queryId: input.queryId,
      columns: entry.columns,
      rows,
      nextCursor: next < entry.rows.length ? writeCursor(input.queryId, next) : null,
    };
  }

  async cancelQuery(input: QueryRef): Promise<QueryStatus> {
    const entry = this.#entry(input.queryId);
    if (!FINAL_QUERY_STATES.has(entry.status.state)) await this.#stop(entry, 'cancel');
    return { ...entry.status };
  }

  /**
   * Interrupts a running query until it stops. One interrupt is not enough: one that lands before
   * DuckDB has begun executing the statement is a no-op, and the query would then run to its end.
   */
  async #stop(entry: Entry, why: 'cancel' | 'timeout'): Promise<void> {
    entry.stop ??= why;
    entry.connection?.interrupt();
    const again = setInterval(() => entry.connection?.interrupt(), INTERRUPT_REPEAT_MS);
    try {
      await entry.done;
    } finally {
      clearInterval(again);
    }
  }

  /** Stops running queries and closes the database. */
  async close(): Promise<void> {
    for (const entry of this.#queries.values()) {
      if (!FINAL_QUERY_STATES.has(entry.status.state)) await this.#stop(entry, 'cancel');
    }
    this.#queries.clear();
    this.#byKey.clear();
    const instance = this.#instance;
    this.#instance = undefined;
    if (instance !== undefined) (await instance.catch(() => undefined))?.closeSync();
  }
}

function bind(prepared: DuckDBPreparedStatement, index: number, value: WarehouseParam): void {
  if (value === null) prepared.bindNull(index);
  else if (typeof value === 'boolean') prepared.bindBoolean(index, value);
  else if (typeof value === 'string') prepared.bindVarchar(index, value);
  else if (Number.isSafeInteger(value)) prepared.bindBigInt(index, BigInt(value));
  else prepared.bindDouble(index, value);
}

function writeCursor(queryId: string, offset: number): string {
  return Buffer.from(`${queryId}:${offset}`).toString('base64url');
}

function readCursor(cursor: string, queryId: string): number {
  const [id, offset] = Buffer.from(cursor, 'base64url').toString().split(':');
  const value = Number(offset);
  if (id !== queryId || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError('The cursor is not one this query answered', [
      { pointer: '/cursor', message: 'expected the nextCursor of a page of this query' },
    ]);
  }
  return value;
}

async function removeFiles(files: readonly string[]): Promise<void> {
  await Promise.all(files.map((file) => rm(file, { force: true })));
}
