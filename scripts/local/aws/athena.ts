/**
 * A contract fake of Amazon Athena's JSON 1.1 API (`X-Amz-Target: AmazonAthena.<Operation>`), served on the
 * local stack's AWS endpoint and by the Athena connector's tests. It follows the Athena API Reference and runs
 * the SQL on DuckDB embedded over the local S3 store, so results are real:
 *
 * - `StartQueryExecution` `{ QueryString, ClientRequestToken, QueryExecutionContext: { Database },
 *   ResultConfiguration: { OutputLocation }, WorkGroup, ExecutionParameters }` answers `{ QueryExecutionId }`
 *   at once; the query is QUEUED, then RUNNING, then SUCCEEDED, FAILED or CANCELLED. A ClientRequestToken
 *   (32-128 characters) seen before answers the first query's id when the request repeats its QueryString,
 *   ExecutionParameters, database and output location, and `InvalidRequestException` "Idempotent parameters
 *   do not match" when one of them changed. ExecutionParameters are literals as Athena
 *   takes them (`'text'` with `''` for a quote, `42`, `2.5e-1`, `true`, `NULL`, `DATE '2026-01-02'`), each
 *   parsed as one literal and bound positionally to a `?`; anything else fails the query. No output location
 *   (neither the request's nor the workgroup's) is refused as Athena refuses it;
 * - `GetQueryExecution`: the state, `StateChangeReason` and `AthenaError` (`ErrorCategory` 1 system, 2 user)
 *   of a failed query, timings as epoch seconds, the output location `<location><id>.csv`;
 * - `GetQueryResults` `{ QueryExecutionId, NextToken, MaxResults }` (1..1000): every value as
 *   `{ VarCharValue }` text (a null as `{}`), the first row of a SELECT's first page its header row,
 *   `ResultSetMetadata.ColumnInfo` with Trino's type names (varchar, integer, bigint, double, boolean, date,
 *   timestamp, decimal with Precision and Scale, ...); a query that has not succeeded, an unknown id or a
 *   NextToken it did not give is `InvalidRequestException`;
 * - `StopQueryExecution`: cancels (a final query keeps its state); `GetWorkGroup`, `ListWorkGroups`.
 * The result is also written as CSV to `<output location><QueryExecutionId>.csv` in S3, as Athena does.
 *
 * Tables come from a Glue-like catalog declared as data ({@link AthenaCatalog}): database -> table -> an S3
 * prefix and a format (csv with a header row, NDJSON, Parquet). A query loads the tables it names from S3
 * into its own DuckDB database, then runs with external access off and the configuration locked, so SQL
 * reaches no file or network. Where it differs from Athena: SQL is DuckDB's dialect, not Trino's (the
 * common subset, CAST, VALUES and `?` behave the same); column names are lower-cased as Trino does;
 * arrays, rows and maps print as Trino prints them (`[1, 2]`, `{a=1}`), from DuckDB's values.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DuckDBBlobValue,
  type DuckDBConnection,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBMapValue,
  type DuckDBPreparedStatement,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
  StatementType,
} from '@duckdb/node-api';
import { AwsError, type JsonService } from './protocol.ts';

/** One table of the catalog: where its objects are and how they are written. */
export interface AthenaTable {
  /** `s3://bucket/prefix/`: every object under it is one file of the table. */
  location: string;
  format: 'csv' | 'json' | 'parquet';
  /** Columns and their DuckDB types, so a table with no objects yet still has a schema. */
  columns?: Record<string, string>;
}

/** The Glue-like catalog and the workgroups. */
export interface AthenaCatalog {
  /** database -> table name -> table. */
  databases: Record<string, Record<string, AthenaTable>>;
  /** workgroup -> its result location; `primary` always exists. */
  workGroups?: Record<string, { outputLocation?: string }>;
}

export interface AthenaServiceOptions {
  catalog: AthenaCatalog;
  /** The S3 store's endpoint (tables and results); read on every query, as the stack fills it in late. */
  s3Endpoint: () => string | undefined;
  /** Access key for the S3 store; default `test`. */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
  region?: string;
  /** Runs once before the first query reads S3 (the local stack seeds its sample tables here). */
  prepare?: (s3: S3Client) => Promise<void>;
}

type State = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

interface ColumnInfo {
  CatalogName: string;
  SchemaName: string;
  TableName: string;
  Name: string;
  Label: string;
  Type: string;
  Precision: number;
  Scale: number;
  Nullable: 'UNKNOWN';
  CaseSensitive: boolean;
}

interface Failure {
  reason: string;
  category: 1 | 2 | 3;
  type: number;
}

/** One query execution. */
export interface AthenaQuery {
  id: string;
  sql: string;
  params: string[];
  database: string;
  workGroup: string;
  outputLocation: string;
  state: State;
  statementType: 'DML' | 'DDL' | 'UTILITY';
  substatementType: string;
  submittedAt: number;
  completedAt: number | undefined;
  startedAt: number | undefined;
  columns: ColumnInfo[];
  /** Result rows as Athena's text (null for SQL NULL). */
  rows: (string | null)[][];
  failure: Failure | undefined;
  connection: DuckDBConnection | undefined;
  stopRequested: boolean;
  /** NextToken -> the offset into the rows (header row included) it continues at. */
  tokens: Map<string, number>;
  done: Promise<void>;
}

/** Queries kept at most; the oldest final ones are forgotten first. */
const MAX_QUERIES = 500;
/** A result larger than this fails (the fake holds results in memory). */
const MAX_ROWS = 1_000_000;
const INTERRUPT_REPEAT_MS = 20;

/**
 * Athena's error types (its error catalog) for the failures the fake tells apart: 1000 a user error, 1001 a
 * data error (category 2: the user's query), 200 the engine's internal error (category 1).
 */
const ERROR_TYPES = {
  SYNTAX_ERROR: 1000,
  TABLE_NOT_FOUND: 1000,
  SCHEMA_NOT_FOUND: 1000,
  COLUMN_NOT_FOUND: 1000,
  FUNCTION_NOT_FOUND: 1000,
  TYPE_MISMATCH: 1000,
  INVALID_PARAMETER_USAGE: 1000,
  INVALID_CAST_ARGUMENT: 1001,
  NUMERIC_VALUE_OUT_OF_RANGE: 1001,
  PERMISSION_DENIED: 1000,
  EXCEEDED_LIMIT: 1000,
  GENERIC_INTERNAL_ERROR: 200,
} as const;

/** Athena's error type for a result it could not write to the output location (category 1). */
const RESULT_WRITE_FAILED = 401;

function userFailure(code: keyof typeof ERROR_TYPES, message: string): Failure {
  const category = code === 'GENERIC_INTERNAL_ERROR' ? 1 : 2;
  return { reason: `${code}: ${message}`, category, type: ERROR_TYPES[code] };
}

/** DuckDB's error -> the Trino error name Athena would give, with DuckDB's first line as the message. */
function failureOf(error: unknown): Failure {
  const text = error instanceof Error ? error.message : String(error);
  const match = /^(?:Failed to extract statements: )?([A-Za-z ]{2,40}?) Error: ([\s\S]*)$/.exec(text);
  const kind = match?.[1] ?? '';
  const said = (match?.[2] ?? text).split('\n')[0]?.slice(0, 500) ?? '';
  const table = /Table with name ([^\s!]+) does not exist/.exec(said)?.[1];
  if (kind === 'Parser') return userFailure('SYNTAX_ERROR', said);
  if (kind === 'Catalog' && table !== undefined) {
    return userFailure('TABLE_NOT_FOUND', `Table '${table.toLowerCase()}' does not exist`);
  }
  if (kind === 'Catalog' && /schema/i.test(said)) return userFailure('SCHEMA_NOT_FOUND', said);
  if (kind === 'Catalog') return userFailure('FUNCTION_NOT_FOUND', said);
  if (kind === 'Binder' && /column/i.test(said)) return userFailure('COLUMN_NOT_FOUND', said);
  if (kind === 'Binder') return userFailure('TYPE_MISMATCH', said);
  if (kind === 'Conversion' || kind === 'Invalid Input') return userFailure('INVALID_CAST_ARGUMENT', said);
  if (kind === 'Out of Range') return userFailure('NUMERIC_VALUE_OUT_OF_RANGE', said);
  if (kind === 'Permission') return userFailure('PERMISSION_DENIED', said);
  return userFailure('GENERIC_INTERNAL_ERROR', said);
}

const INT32 = 2_147_483_647;

/**
 * Binds one ExecutionParameter: exactly one literal, never SQL text. Answers the failure of a value that is
 * not one literal.
 */
function bindLiteral(prepared: DuckDBPreparedStatement, index: number, raw: string): Failure | undefined {
  const text = raw.trim();
  const quoted = /^(?:(DATE|TIMESTAMP|TIME)\s+)?'((?:[^']|'')*)'$/is.exec(text);
  if (quoted !== null) {
    prepared.bindVarchar(index, (quoted[2] ?? '').replaceAll("''", "'"));
    return undefined;
  }
  if (/^-?\d{1,19}$/.test(text)) {
    const value = BigInt(text);
    if (value >= -BigInt(INT32) - 1n && value <= BigInt(INT32)) prepared.bindInteger(index, Number(value));
    else if (value >= -(2n ** 63n) && value < 2n ** 63n) prepared.bindBigInt(index, value);
    else return userFailure('NUMERIC_VALUE_OUT_OF_RANGE', `Parameter ${index} is out of range for bigint`);
    return undefined;
  }
  if (/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) {
    prepared.bindDouble(index, Number(text));
    return undefined;
  }
  if (/^(true|false)$/i.test(text)) {
    prepared.bindBoolean(index, text.toLowerCase() === 'true');
    return undefined;
  }
  if (/^null$/i.test(text)) {
    prepared.bindNull(index);
    return undefined;
  }
  return userFailure('INVALID_PARAMETER_USAGE', `Parameter ${index} is not a literal`);
}

const SIMPLE_TYPES: Partial<Record<DuckDBTypeId, string>> = {
  [DuckDBTypeId.BOOLEAN]: 'boolean',
  [DuckDBTypeId.TINYINT]: 'tinyint',
  [DuckDBTypeId.UTINYINT]: 'smallint',
  [DuckDBTypeId.SMALLINT]: 'smallint',
  [DuckDBTypeId.USMALLINT]: 'integer',
  [DuckDBTypeId.INTEGER]: 'integer',
  [DuckDBTypeId.UINTEGER]: 'bigint',
  [DuckDBTypeId.BIGINT]: 'bigint',
  [DuckDBTypeId.UBIGINT]: 'decimal',
  [DuckDBTypeId.HUGEINT]: 'decimal',
  [DuckDBTypeId.UHUGEINT]: 'decimal',
  [DuckDBTypeId.FLOAT]: 'real',
  [DuckDBTypeId.DOUBLE]: 'double',
  [DuckDBTypeId.DATE]: 'date',
  [DuckDBTypeId.TIME]: 'time',
  [DuckDBTypeId.TIMESTAMP]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_S]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_MS]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_NS]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_TZ]: 'timestamp with time zone',
  [DuckDBTypeId.BLOB]: 'varbinary',
  [DuckDBTypeId.LIST]: 'array',
  [DuckDBTypeId.ARRAY]: 'array',
  [DuckDBTypeId.STRUCT]: 'row',
  [DuckDBTypeId.MAP]: 'map',
  [DuckDBTypeId.INTERVAL]: 'interval day to second',
  [DuckDBTypeId.SQLNULL]: 'unknown',
};

/** The ColumnInfo Athena gives a column of this DuckDB type. */
function columnOf(name: string, type: DuckDBType): ColumnInfo {
  let athena = type.alias === 'JSON' ? 'json' : (SIMPLE_TYPES[type.typeId] ?? 'varchar');
  let precision = 0;
  let scale = 0;
  if (type.typeId === DuckDBTypeId.DECIMAL) {
    ({ width: precision, scale } = type as unknown as { width: number; scale: number });
    athena = 'decimal';
  } else if (athena === 'decimal') {
    precision = 38;
  } else if (athena === 'varchar') {
    precision = 2_147_483_647;
  }
  return {
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: name.toLowerCase(),
    Label: name.toLowerCase(),
    Type: athena,
    Precision: precision,
    Scale: scale,
    Nullable: 'UNKNOWN',
    CaseSensitive: athena === 'varchar' || athena === 'json',
  };
}

const pad = (value: number | bigint, width = 2): string => String(value).padStart(width, '0');

/** `HH:MM:SS.fff` of a count of microseconds within a day. */
function timeText(micros: bigint): string {
  const ms = micros / 1000n;
  const seconds = ms / 1000n;
  return `${pad(seconds / 3600n)}:${pad((seconds / 60n) % 60n)}:${pad(seconds % 60n)}.${pad(ms % 1000n, 3)}`;
}

/** `YYYY-MM-DD HH:MM:SS.fff`, as Athena prints a timestamp (millisecond precision). */
function timestampText(micros: bigint): string {
  const day = 86_400_000_000n;
  let days = micros / day;
  let rest = micros % day;
  if (rest < 0n) {
    rest += day;
    days -= 1n;
  }
  return `${new DuckDBDateValue(Number(days)).toString()} ${timeText(rest)}`;
}

function decimalText({ value, scale }: DuckDBDecimalValue): string {
  const digits = (value < 0n ? -value : value).toString().padStart(scale + 1, '0');
  const sign = value < 0n ? '-' : '';
  const whole = digits.slice(0, digits.length - scale);
  return scale === 0 ? `${sign}${whole}` : `${sign}${whole}.${digits.slice(-scale)}`;
}

/** A double as Trino prints it: `0.25`, `1.0E21`, `NaN`, `Infinity`. */
function doubleText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  const text = String(value);
  if (!text.includes('e')) return text;
  const [mantissa = '', exponent = ''] = text.split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

/** One value as Athena's text; nested values as Trino prints them. */
function valueText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof DuckDBDecimalValue) return decimalText(value);
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBTimeValue) return timeText(value.micros);
  if (value instanceof DuckDBTimestampValue) return timestampText(value.micros);
  if (value instanceof DuckDBTimestampTZValue) return `${timestampText(value.micros)} UTC`;
  if (value instanceof DuckDBBlobValue) {
    return [...value.bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  }
  if (value instanceof DuckDBListValue) return `[${value.items.map((item) => valueText(item)).join(', ')}]`;
  if (value instanceof DuckDBStructValue) {
    const members = Object.entries(value.entries).map(([key, item]) => `${key}=${valueText(item)}`);
    return `{${members.join(', ')}}`;
  }
  if (value instanceof DuckDBMapValue) {
    return `{${value.entries.map((entry) => `${valueText(entry.key)}=${valueText(entry.value)}`).join(', ')}}`;
  }
  if (typeof value === 'number') return doubleText(value);
  return String(value);
}

/** A CSV field as Athena writes results: every value quoted, a null empty. */
function csvField(value: string | null): string {
  return value === null ? '' : `"${value.replaceAll('"', '""')}"`;
}

function parseS3Url(url: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  return match === null ? undefined : { bucket: match[1] ?? '', key: match[2] ?? '' };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

const READERS: Record<AthenaTable['format'], string> = {
  csv: 'read_csv',
  json: 'read_json',
  parquet: 'read_parquet',
};

/** The engine behind the JSON API: queries, their DuckDB runs, their results. */
export class AthenaEngine {
  readonly queries = new Map<string, AthenaQuery>();
  /** `<workgroup>:<ClientRequestToken>` -> the query it started and the parameters it was asked with. */
  readonly #tokens = new Map<string, { id: string; asked: string }>();
  readonly #options: AthenaServiceOptions;
  #s3: { endpoint: string; client: S3Client } | undefined;
  #prepared: Promise<void> | undefined;

  constructor(options: AthenaServiceOptions) {
    this.#options = options;
  }

  /** The workgroup's result location, or an InvalidRequestException for an unknown workgroup. */
  workGroup(name: string): { name: string; outputLocation: string | undefined } {
    const groups = this.#options.catalog.workGroups ?? {};
    if (name !== 'primary' && groups[name] === undefined) {
      throw new AwsError('InvalidRequestException', `WorkGroup ${name} is not found.`);
    }
    return { name, outputLocation: groups[name]?.outputLocation };
  }

  workGroupNames(): string[] {
    return [...new Set(['primary', ...Object.keys(this.#options.catalog.workGroups ?? {})])];
  }

  start(request: {
    sql: string;
    params: string[];
    database: string;
    workGroup: string;
    outputLocation: string | undefined;
    token: string | undefined;
  }): string {
    const group = this.workGroup(request.workGroup);
    // What a reused ClientRequestToken must repeat: Athena refuses the token with other parameters.
    const asked = JSON.stringify([
      request.sql,
      request.params,
      request.database,
      request.outputLocation ?? null,
    ]);
    if (request.token !== undefined) {
      const earlier = this.#tokens.get(`${group.name}:${request.token}`);
      if (earlier !== undefined && this.queries.has(earlier.id)) {
        if (earlier.asked !== asked) {
          throw new AwsError('InvalidRequestException', 'Idempotent parameters do not match');
        }
        return earlier.id;
      }
    }
    const location = request.outputLocation ?? group.outputLocation;
    if (location === undefined || parseS3Url(location) === undefined) {
      throw new AwsError(
        'InvalidRequestException',
        'No output location provided. An output location is required either through the Workgroup result ' +
          'configuration setting or as an API input.',
      );
    }
    const id = randomUUID();
    const query: AthenaQuery = {
      id,
      sql: request.sql,
      params: request.params,
      database: request.database,
      workGroup: group.name,
      outputLocation: `${location.endsWith('/') ? location : `${location}/`}${id}.csv`,
      state: 'QUEUED',
      statementType: 'DML',
      substatementType: 'SELECT',
      submittedAt: Date.now(),
      completedAt: undefined,
      startedAt: undefined,
      columns: [],
      rows: [],
      failure: undefined,
      connection: undefined,
      stopRequested: false,
      tokens: new Map(),
      done: Promise.resolve(),
    };
    this.queries.set(id, query);
    if (request.token !== undefined) this.#tokens.set(`${group.name}:${request.token}`, { id, asked });
    this.#forgetOld();
    // Queued until the next turn of the event loop, as Athena queues before it runs.
    query.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#run(query));
    return id;
  }

  get(id: string): AthenaQuery {
    const query = this.queries.get(id);
    if (query === undefined) {
      throw new AwsError('InvalidRequestException', `QueryExecution ${id.slice(0, 128)} was not found`);
    }
    return query;
  }

  /** Cancels a query; a final one keeps its state. Answers once the engine has stopped. */
  async stop(id: string): Promise<void> {
    const query = this.get(id);
    if (query.state !== 'QUEUED' && query.state !== 'RUNNING') return;
    query.stopRequested = true;
    query.connection?.interrupt();
    const again = setInterval(() => query.connection?.interrupt(), INTERRUPT_REPEAT_MS);
    try {
      await query.done;
    } finally {
      clearInterval(again);
    }
  }

  /** Stops every running query (the stack is closing). */
  async close(): Promise<void> {
    await Promise.all([...this.queries.keys()].map((id) => this.stop(id).catch(() => undefined)));
    this.#s3?.client.destroy();
    this.#s3 = undefined;
  }

  /** A NextToken for the rows from `offset` on. */
  token(query: AthenaQuery, offset: number): string {
    const token = Buffer.from(randomUUID()).toString('base64url');
    query.tokens.set(token, offset);
    return token;
  }

  #s3Client(): S3Client {
    const endpoint = this.#options.s3Endpoint();
    if (endpoint === undefined) throw new Error('the S3 store is not running');
    if (this.#s3?.endpoint !== endpoint) {
      this.#s3?.client.destroy();
      this.#s3 = {
        endpoint,
        client: new S3Client({
          endpoint,
          forcePathStyle: true,
          region: this.#options.region ?? 'us-east-1',
          credentials: this.#options.s3Credentials ?? { accessKeyId: 'test', secretAccessKey: 'test' },
        }),
      };
    }
    return this.#s3.client;
  }

  #forgetOld(): void {
    const finished = [...this.queries.values()].filter((q) => q.state !== 'QUEUED' && q.state !== 'RUNNING');
    for (const old of finished.slice(0, Math.max(0, this.queries.size - MAX_QUERIES))) {
      this.queries.delete(old.id);
    }
  }

  #finish(query: AthenaQuery, state: State, failure?: Failure): void {
    query.state = query.stopRequested ? 'CANCELLED' : state;
    query.failure = query.state === 'FAILED' ? failure : undefined;
    if (query.state !== 'SUCCEEDED') query.rows = [];
    query.completedAt = Date.now();
  }

  /** Tables the SQL names (by word), loaded from S3 into the query's database. */
  async #prepare(): Promise<void> {
    const prepare = this.#options.prepare;
    if (prepare === undefined) return;
    this.#prepared ??= prepare(this.#s3Client()).catch((error: unknown) => {
      this.#prepared = undefined;
      throw error;
    });
    await this.#prepared;
  }

  async #loadTables(connection: DuckDBConnection, query: AthenaQuery, scratch: string): Promise<void> {
    await this.#prepare();
    const words = new Set((query.sql.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []).map(String));
    for (const [database, tables] of Object.entries(this.#options.catalog.databases)) {
      await connection.run(`create schema if not exists ${quoteIdent(database)}`);
      for (const [name, table] of Object.entries(tables)) {
        if (!words.has(name.toLowerCase())) continue;
        const files = await this.#download(table, join(scratch, database, name));
        const target = `${quoteIdent(database)}.${quoteIdent(name)}`;
        const declared = Object.entries(table.columns ?? {});
        if (declared.length > 0) {
          await connection.run(
            `create table ${target} (${declared.map(([c, t]) => `${quoteIdent(c)} ${t}`).join(', ')})`,
          );
        }
        if (files.length === 0) continue;
        const list = `[${files.map(quoteText).join(', ')}]`;
        const reader = `${READERS[table.format]}(${list}${table.format === 'csv' ? ', header = true' : ''})`;
        await connection.run(
          declared.length > 0
            ? `insert into ${target} by name select * from ${reader}`
            : `create table ${target} as select * from ${reader}`,
        );
      }
    }
  }

  /** Every object under the table's prefix, written to `directory`; answers the local paths. */
  async #download(table: AthenaTable, directory: string): Promise<string[]> {
    const where = parseS3Url(table.location);
    if (where === undefined) return [];
    const s3 = this.#s3Client();
    const prefix = where.key === '' || where.key.endsWith('/') ? where.key : `${where.key}/`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: where.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined && !object.Key.endsWith('/') && (object.Size ?? 0) > 0)
          keys.push(object.Key);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    await mkdir(directory, { recursive: true });
    const paths: string[] = [];
    for (const [i, key] of keys.entries()) {
      const object = await s3.send(new GetObjectCommand({ Bucket: where.bucket, Key: key }));
      const path = join(directory, `${i}.${table.format}`);
      await writeFile(
        path,
        await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
      paths.push(path);
    }
    return paths;
  }

  async #run(query: AthenaQuery): Promise<void> {
    if (query.stopRequested) {
      this.#finish(query, 'CANCELLED');
      return;
    }
    query.state = 'RUNNING';
    query.startedAt = Date.now();
    const scratch = await mkdtemp(join(tmpdir(), 'athena-fake-'));
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(':memory:', {
        threads: '1',
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
      });
      const connection = await instance.connect();
      // Athena's session zone is UTC; DuckDB would take the process's (a laptop west of UTC shifts dates).
      await connection.run("SET TimeZone = 'UTC'");
      query.connection = connection;
      const failure = (await this.#execute(connection, query, scratch)) ?? (await this.#writeCsv(query));
      this.#finish(query, failure === undefined ? 'SUCCEEDED' : 'FAILED', failure);
    } catch (error) {
      this.#finish(query, 'FAILED', query.stopRequested ? undefined : failureOf(error));
    } finally {
      query.connection?.closeSync();
      query.connection = undefined;
      instance?.closeSync();
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Runs the query; answers the failure of a query the engine refused. */
  async #execute(
    connection: DuckDBConnection,
    query: AthenaQuery,
    scratch: string,
  ): Promise<Failure | undefined> {
    const databases = this.#options.catalog.databases;
    if (databases[query.database] === undefined) {
      return userFailure('SCHEMA_NOT_FOUND', `Schema '${query.database}' does not exist`);
    }
    await this.#loadTables(connection, query, scratch);
    await connection.run(`SET search_path = ${quoteText(`${query.database},main`)}`);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');
    const statements = await connection.extractStatements(query.sql);
    if (statements.count !== 1) {
      return userFailure('SYNTAX_ERROR', 'Only one sql statement is allowed.');
    }
    const prepared = await statements.prepare(0);
    if (prepared.parameterCount !== query.params.length) {
      return userFailure(
        'INVALID_PARAMETER_USAGE',
        `Incorrect number of parameters: expected ${prepared.parameterCount} but found ${query.params.length}`,
      );
    }
    for (const [i, param] of query.params.entries()) {
      const refused = bindLiteral(prepared, i + 1, param);
      if (refused !== undefined) return refused;
    }
    const kind = prepared.statementType;
    query.statementType =
      kind === StatementType.SELECT ||
      kind === StatementType.INSERT ||
      kind === StatementType.UPDATE ||
      kind === StatementType.DELETE
        ? 'DML'
        : kind === StatementType.CREATE || kind === StatementType.DROP || kind === StatementType.ALTER
          ? 'DDL'
          : 'UTILITY';
    query.substatementType = StatementType[kind] ?? 'UNKNOWN';
    const result = await prepared.stream();
    query.columns = result.columnNames().map((name, i) => columnOf(name, result.columnType(i)));
    for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; ) {
      if (query.rows.length + chunk.rowCount > MAX_ROWS) {
        return userFailure('EXCEEDED_LIMIT', `The fake holds at most ${MAX_ROWS} result rows`);
      }
      for (const row of chunk.getRows()) query.rows.push(row.map((value) => valueText(value)));
      chunk = await result.fetchChunk();
    }
    return undefined;
  }

  /** The result as CSV at the output location, header row first, as Athena writes it; a failure if it cannot. */
  async #writeCsv(query: AthenaQuery): Promise<Failure | undefined> {
    const where = parseS3Url(query.outputLocation) as { bucket: string; key: string };
    const lines = [query.columns.map((column) => csvField(column.Name)).join(',')];
    for (const row of query.rows) lines.push(row.map(csvField).join(','));
    try {
      await this.#s3Client().send(
        new PutObjectCommand({
          Bucket: where.bucket,
          Key: where.key,
          Body: `${lines.join('\n')}\n`,
          ContentType: 'text/csv',
        }),
      );
      return undefined;
    } catch (error) {
      const name = (error as { name?: string }).name ?? 'Error';
      return {
        reason: `GENERIC_INTERNAL_ERROR: Unable to write query results to ${query.outputLocation} (${name})`,
        category: 1,
        type: RESULT_WRITE_FAILED,
      };
    }
  }
}

function text(body: Record<string, unknown>, field: string, min: number, max: number): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    throw new AwsError(
      'InvalidRequestException',
      `1 validation error detected: Value at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must have length between ${min} and ${max}`,
    );
  }
  return value;
}

function required(body: Record<string, unknown>, field: string, min: number, max: number): string {
  const value = text(body, field, min, max);
  if (value === undefined) {
    throw new AwsError(
      'InvalidRequestException',
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

const seconds = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

function execution(query: AthenaQuery): Record<string, unknown> {
  const end = query.completedAt ?? Date.now();
  return {
    QueryExecutionId: query.id,
    Query: query.sql,
    StatementType: query.statementType,
    SubstatementType: query.substatementType,
    ResultConfiguration: { OutputLocation: query.outputLocation },
    QueryExecutionContext: { Database: query.database, Catalog: 'AwsDataCatalog' },
    Status: {
      State: query.state,
      SubmissionDateTime: seconds(query.submittedAt),
      ...(query.completedAt === undefined ? {} : { CompletionDateTime: seconds(query.completedAt) }),
      ...(query.state === 'CANCELLED' ? { StateChangeReason: 'Query was cancelled by user' } : {}),
      ...(query.failure === undefined
        ? {}
        : {
            StateChangeReason: query.failure.reason,
            AthenaError: {
              ErrorCategory: query.failure.category,
              ErrorType: query.failure.type,
              Retryable: query.failure.category === 1,
              ErrorMessage: query.failure.reason,
            },
          }),
    },
    Statistics: {
      EngineExecutionTimeInMillis: query.startedAt === undefined ? 0 : end - query.startedAt,
      DataScannedInBytes: 0,
      TotalExecutionTimeInMillis: end - query.submittedAt,
      QueryQueueTimeInMillis: (query.startedAt ?? end) - query.submittedAt,
    },
    WorkGroup: query.workGroup,
    EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' },
    ...(query.params.length === 0 ? {} : { ExecutionParameters: query.params }),
  };
}

function results(engine: AthenaEngine, body: Record<string, unknown>): Record<string, unknown> {
  const query = engine.get(required(body, 'QueryExecutionId', 1, 128));
  if (query.state !== 'SUCCEEDED') {
    throw new AwsError(
      'InvalidRequestException',
      query.state === 'QUEUED' || query.state === 'RUNNING'
        ? `Query has not yet finished. Current state: ${query.state}`
        : `Query did not finish successfully. Final query state: ${query.state}`,
    );
  }
  const max = body['MaxResults'] ?? 1000;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1000) {
    throw new AwsError(
      'InvalidRequestException',
      "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
  }
  const token = text(body, 'NextToken', 1, 1024);
  const offset = token === undefined ? 0 : query.tokens.get(token);
  if (offset === undefined) throw new AwsError('InvalidRequestException', 'The NextToken is not valid.');
  const header = query.substatementType === 'SELECT';
  const all = header ? [query.columns.map((column) => column.Name), ...query.rows] : query.rows;
  const rows = all.slice(offset, offset + max);
  const next = offset + rows.length;
  const answer: Record<string, unknown> = {
    ResultSet: {
      Rows: rows.map((row) => ({
        Data: row.map((value) => (value === null ? {} : { VarCharValue: value })),
      })),
      ResultSetMetadata: { ColumnInfo: query.columns },
    },
    UpdateCount: header ? 0 : query.rows.length,
  };
  if (next < all.length) answer['NextToken'] = engine.token(query, next);
  return answer;
}

/**
 * The JSON service the AWS endpoint routes `AmazonAthena.*` to.
 *
 * @example
 * ```ts
 * const engine = new AthenaEngine({ catalog, s3Endpoint: () => services.s3Endpoint });
 * services.athena = athenaService(engine);
 * ```
 */
export function athenaService(engine: AthenaEngine): JsonService {
  return async ({ operation, body }) => {
    switch (operation) {
      case 'StartQueryExecution': {
        const params = body['ExecutionParameters'] ?? [];
        if (
          !Array.isArray(params) ||
          params.some((p) => typeof p !== 'string' || p.length < 1 || p.length > 1024)
        ) {
          throw new AwsError(
            'InvalidRequestException',
            "1 validation error detected: Value at 'executionParameters' failed to satisfy constraint: Member must satisfy constraint: [Member must have length between 1 and 1024]",
          );
        }
        const context = (body['QueryExecutionContext'] ?? {}) as Record<string, unknown>;
        const result = (body['ResultConfiguration'] ?? {}) as Record<string, unknown>;
        const id = engine.start({
          sql: required(body, 'QueryString', 1, 262_144),
          params: params as string[],
          database: text(context, 'Database', 1, 255) ?? 'default',
          workGroup: text(body, 'WorkGroup', 1, 128) ?? 'primary',
          outputLocation: text(result, 'OutputLocation', 1, 1024),
          token: text(body, 'ClientRequestToken', 32, 128),
        });
        return { QueryExecutionId: id };
      }
      case 'GetQueryExecution':
        return { QueryExecution: execution(engine.get(required(body, 'QueryExecutionId', 1, 128))) };
      case 'GetQueryResults':
        return results(engine, body);
      case 'StopQueryExecution':
        await engine.stop(required(body, 'QueryExecutionId', 1, 128));
        return {};
      case 'GetWorkGroup': {
        const group = engine.workGroup(required(body, 'WorkGroup', 1, 128));
        return {
          WorkGroup: {
            Name: group.name,
            State: 'ENABLED',
            Configuration: {
              ...(group.outputLocation === undefined
                ? {}
                : { ResultConfiguration: { OutputLocation: group.outputLocation } }),
              EnforceWorkGroupConfiguration: false,
              EngineVersion: {
                SelectedEngineVersion: 'AUTO',
                EffectiveEngineVersion: 'Athena engine version 3',
              },
            },
            CreationTime: 0,
          },
        };
      }
      case 'ListWorkGroups':
        return {
          WorkGroups: engine
            .workGroupNames()
            .map((name) => ({ Name: name, State: 'ENABLED', CreationTime: 0 })),
        };
      default:
        throw new AwsError(
          'UnknownOperationException',
          `AmazonAthena.${operation} is not served by the local stack`,
        );
    }
  };
}
