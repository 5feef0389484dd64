/**
 * The contract fake of Snowflake's SQL API v2, on the contract-fake kit: what the Snowflake connector's tests
 * run against, and its sandbox on the local stack (`npx node scripts/local/sandboxes/snowflake.ts [port]`). It
 * follows the SQL API reference and runs the SQL on DuckDB embedded, so results are real:
 *
 * - key-pair auth: `Authorization: Bearer <JWT>` with `X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`;
 *   the JWT is RS256, `sub` = `ACCOUNT.USER`, `iss` = `ACCOUNT.USER.SHA256:<base64 SHA-256 of the public
 *   key's DER>`, `exp` at most an hour after `iat`; its signature is verified against the public keys the
 *   fake was given (`state.publicKeys`, by fingerprint). Else 401 `390144` "JWT token is invalid.";
 * - `POST /api/v2/statements?requestId=&retry=&async=` `{ statement, timeout, warehouse, database, schema,
 *   role, bindings: { "1": { type, value } } }`: exactly one statement (else 422 `000008`), `?` placeholders
 *   bound by type (`FIXED`, `REAL`, `TEXT`, `BOOLEAN`, `DATE`, `TIME`, `TIMESTAMP_*`, `BINARY`), never
 *   interpolated; compilation errors answer 422 `{ code, message, sqlState, statementHandle }` at once;
 *   `async=true` answers 202 `{ code: "333334", statementHandle, statementStatusUrl }`, otherwise the fake
 *   waits up to 45 s for the result (then 202). A `requestId` seen before answers that statement again
 *   instead of running it twice unless it failed, which runs again (`retry=true` accepted, not required);
 * - `GET /api/v2/statements/{handle}`: 202 while running, 200 with `resultSetMetaData` (`numRows`,
 *   `format: "jsonv2"`, `rowType`, `partitionInfo`) and partition 0's `data`, 422 once failed or cancelled
 *   (`000604`, sqlState 57014), 408 with a QueryStatus once past its `timeout` (`000630`: the reference's
 *   "408: the execution of the statement exceeded the timeout period"); `?partition=N` answers `{ data }` of
 *   partition N, gzip-compressed with `Content-Encoding: gzip` for N > 0 as Snowflake answers it (unasked:
 *   no Accept-Encoding needed). Partitions hold `partitionRows` rows (default 500, small so that paging is
 *   exercised); values are text as jsonv2 encodes them (dates as days since the epoch, timestamps as
 *   `seconds.nanoseconds`, binary as hex); an unknown handle is 422 `000709`;
 * - `POST /api/v2/statements/{handle}/cancel`: stops the statement (repeating DuckDB's interrupt until it
 *   has ended) and answers 200.
 * Faults (`fake.inject`) add 429 with Retry-After, 5xx, slow, malformed, ... .
 *
 * Answers as Snowflake does, not as DuckDB would (checked against the SQL API reference's "Handling
 * responses" page and its `rowType`/`data` descriptions): an unquoted identifier is upper-cased, so a result
 * column is named `ID`, `TOTAL` (a double-quoted alias such as `"mixedCase"` keeps its case); every integer
 * type is `fixed` with precision 38 and scale 0 (Snowflake's INTEGER/BIGINT/SMALLINT are NUMBER(38,0)), a
 * decimal `fixed` with its precision and scale; every value in `data` is a string (`fixed` as its decimal
 * text, `real` as its number, booleans `"true"`/`"false"`, `date` days since the epoch, `time`,
 * `timestamp_ntz` and `timestamp_ltz` `seconds.nanoseconds` with 9 digits, `binary` hex) and SQL NULL is JSON
 * null. Where it still differs (DuckDB underneath): a literal such as `SELECT 7` is NUMBER(38,0) here where
 * Snowflake gives the literal's own precision (NUMBER(1,0)), a column without an alias gets DuckDB's name
 * upper-cased (`COUNT_STAR()` where Snowflake says `COUNT(*)`), and DuckDB's TIMESTAMPTZ is `timestamp_ltz`.
 *
 * Seed: the sandbox key pair ({@link sandboxKeyPair}); a table `orders` (id, customer, amount, ordered_at).
 *
 * @example
 * ```ts
 * const fake = await startSnowflakeFake();
 * process.env['SNOWFLAKE_API_URL'] = fake.url;
 * fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'submit-statement' });
 * ```
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  verify,
} from 'node:crypto';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
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
  DuckDBTimeNSValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
} from '@duckdb/node-api';
import {
  type Answer,
  type ErrorDialect,
  type ErrorKind,
  type FakeDefinition,
  type FakeServer,
  json,
  type RouteContext,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** One column of `rowType`, as the SQL API describes it. */
export interface SnowflakeFakeColumn {
  name: string;
  type: string;
  precision: number | null;
  scale: number | null;
  length: number | null;
  byteLength: number | null;
  nullable: boolean;
}

interface Failure {
  code: string;
  message: string;
  sqlState: string;
}

/** One submitted statement. */
export interface SnowflakeFakeStatement {
  handle: string;
  state: 'running' | 'succeeded' | 'failed';
  createdOn: number;
  columns: SnowflakeFakeColumn[];
  rows: (string | null)[][];
  failure: Failure | undefined;
  connection: DuckDBConnection | undefined;
  stop: 'cancel' | 'timeout' | undefined;
  timeoutSeconds: number;
  done: Promise<void>;
}

export interface SnowflakeFakeState {
  /** Public keys allowed to sign, by their `SHA256:<base64>` fingerprint. */
  publicKeys: Map<string, KeyObject>;
  statements: Map<string, SnowflakeFakeStatement>;
  /** requestId -> handle, for resubmissions. */
  requests: Map<string, string>;
  /** Rows per result partition. */
  partitionRows: number;
  /** `sub` of every accepted JWT, in order (tests check the claims the connector sent). */
  subjects: string[];
}

export interface SnowflakeFakeOptions extends StartOptions {
  /** Rows per partition; default 500. */
  partitionRows?: number;
  /** Public keys (PEM or KeyObject) allowed to sign; default the sandbox key pair's. */
  publicKeys?: ReadonlyArray<string | KeyObject>;
}

/** The SQL API's own codes for the kit's error kinds. */
const KIND_CODES: Readonly<Record<ErrorKind, [code: string, message: string]>> = {
  unauthorized: ['390144', 'JWT token is invalid.'],
  forbidden: ['390101', 'User is not authorized to perform this action.'],
  'not-found': ['390404', 'Not found.'],
  conflict: ['390409', 'Conflict.'],
  throttled: ['390429', 'Too many requests. Retry after the time in the Retry-After header.'],
  'server-error': ['390500', 'Service is unavailable. Please retry.'],
};

/** Snowflake's error bodies: `{ code, message }` (422 bodies add `sqlState` and the handle). */
export const snowflakeErrors: ErrorDialect = (kind, { status }) => {
  const [code, message] = KIND_CODES[kind];
  return json(status, { code, message });
};

/** The TIMEZONE parameter's default in Snowflake (the fake offers no other). */
export const SESSION_TIMEZONE = 'America/Los_Angeles';

/** Every statement runs on this database; SQL reaches no file (external access off, configuration locked). */
let database: Promise<DuckDBInstance> | undefined;

async function openDatabase(): Promise<DuckDBInstance> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '1',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const setup = await instance.connect();
  try {
    await setup.run(
      'create table orders (id integer, customer varchar, amount decimal(10,2), ordered_at timestamp)',
    );
    await setup.run(
      "insert into orders values (1, 'acme', 120.50, '2026-01-02 09:00:00'), (2, 'globex', 75.00, " +
        "'2026-01-03 10:30:00'), (3, 'acme', 300.25, '2026-01-04 11:45:00')",
    );
    // Snowflake's session TIMEZONE parameter decides how TIMESTAMP_LTZ values convert, never the server's
    // clock; DuckDB would otherwise follow this process's TZ (ICU's default zone).
    await setup.run(`SET GLOBAL TimeZone = '${SESSION_TIMEZONE}'`);
    await setup.run('SET enable_external_access = false');
    await setup.run('SET lock_configuration = true');
  } finally {
    setup.closeSync();
  }
  return instance;
}

/**
 * The public key's fingerprint as Snowflake shows it (`DESC USER ... RSA_PUBLIC_KEY_FP`).
 *
 * @example
 * ```ts
 * fingerprintOf(createPublicKey(pem)); // 'SHA256:3x1...='
 * ```
 */
export function fingerprintOf(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

let sandbox: { privateKey: string; publicKey: string } | undefined;

/** The sandbox's key pair, made once per process: the private key is what the local stack stores. */
export function sandboxKeyPair(): { privateKey: string; publicKey: string } {
  sandbox ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return sandbox;
}

/** Lets a private or public key (PEM) sign for the fake; anything else is ignored. */
export function acceptKey(state: SnowflakeFakeState, pem: string): void {
  try {
    const key = createPublicKey(pem);
    state.publicKeys.set(fingerprintOf(key), key);
  } catch {
    // Not a key: nothing to accept.
  }
}

function decodePart(part: string | undefined): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The JWT check of every call: the header, the claims, the signature by an accepted key, the time. */
function authorize({ request, state }: RouteContext<SnowflakeFakeState>): 'unauthorized' | undefined {
  if (request.headers['x-snowflake-authorization-token-type']?.toUpperCase() !== 'KEYPAIR_JWT') {
    return 'unauthorized';
  }
  const [head, body, signature, extra] = (request.token ?? '').split('.');
  if (extra !== undefined || signature === undefined) return 'unauthorized';
  const header = decodePart(head);
  const claims = decodePart(body);
  if (header?.['alg'] !== 'RS256' || claims === undefined) return 'unauthorized';
  const { iss, sub, iat, exp } = claims;
  if (
    typeof iss !== 'string' ||
    typeof sub !== 'string' ||
    typeof iat !== 'number' ||
    typeof exp !== 'number'
  ) {
    return 'unauthorized';
  }
  if (!/^[A-Z0-9_-]+\.[A-Z0-9_.@-]+$/.test(sub) || !iss.startsWith(`${sub}.SHA256:`)) return 'unauthorized';
  const key = state.publicKeys.get(iss.slice(sub.length + 1));
  if (key === undefined) return 'unauthorized';
  const signed = verify('sha256', Buffer.from(`${head}.${body}`), key, Buffer.from(signature, 'base64url'));
  const now = Date.now() / 1000;
  if (!signed || exp <= now || iat > now + 60 || exp - iat > 3_600) return 'unauthorized';
  state.subjects.push(sub);
  return undefined;
}

function failed(status: number, failure: Failure, handle?: string): Answer {
  return json(status, {
    ...failure,
    ...(handle === undefined
      ? {}
      : { statementHandle: handle, statementStatusUrl: `/api/v2/statements/${handle}` }),
  });
}

/** DuckDB's error class -> the Snowflake code, SQL state and message prefix of the same failure. */
const DUCKDB_TO_SNOWFLAKE: Readonly<Record<string, [code: string, sqlState: string, prefix: string]>> = {
  Parser: ['001003', '42000', 'SQL compilation error:\n'],
  Catalog: ['002003', '42S02', 'SQL compilation error:\nObject does not exist or not authorized: '],
  Binder: ['000904', '42000', 'SQL compilation error: '],
  Conversion: ['100038', '22018', 'Numeric value is not recognized: '],
  'Invalid Input': ['100038', '22018', 'Value is not recognized: '],
  'Out of Range': ['100035', '22003', 'Numeric value out of range: '],
  Permission: ['003001', '42501', 'SQL access control error:\nInsufficient privileges: '],
};

function failureOf(error: unknown): Failure {
  const text = error instanceof Error ? error.message : String(error);
  const match = /^(?:Failed to extract statements: )?([A-Za-z ]{2,40}?) Error: ([\s\S]*)$/.exec(text);
  const row = match === undefined || match === null ? undefined : DUCKDB_TO_SNOWFLAKE[match[1] ?? ''];
  const said = (match?.[2] ?? text).split('\n')[0]?.slice(0, 500) ?? '';
  if (row === undefined)
    return { code: '000603', sqlState: 'XX000', message: `SQL execution error: ${said}` };
  return { code: row[0], sqlState: row[1], message: `${row[2]}${said}` };
}

/** Binds one SQL API binding `{ type, value }` by its type; a value never becomes SQL text. */
function bind(prepared: DuckDBPreparedStatement, index: number, binding: unknown): void {
  const { type, value } = (binding ?? {}) as { type?: unknown; value?: unknown };
  const wrong = (): never =>
    refuse(
      failed(400, {
        code: '002049',
        sqlState: '42601',
        message: `Bind variable ${index}: unsupported type or value.`,
      }),
    );
  if (value === null) {
    prepared.bindNull(index);
    return;
  }
  if (typeof value !== 'string' || typeof type !== 'string') {
    wrong();
    return;
  }
  switch (type) {
    case 'FIXED':
      if (/^-?\d{1,18}$/.test(value)) prepared.bindBigInt(index, BigInt(value));
      else if (/^-?\d+(\.\d+)?$/.test(value)) prepared.bindVarchar(index, value);
      else wrong();
      return;
    case 'REAL':
      if (!Number.isFinite(Number(value)) && !/^-?inf$|^nan$/i.test(value)) wrong();
      prepared.bindDouble(index, Number(value.replace(/inf/i, 'Infinity')));
      return;
    case 'BOOLEAN':
      prepared.bindBoolean(index, value === 'true' || value === '1');
      return;
    case 'BINARY':
      if (!/^([0-9a-fA-F]{2})*$/.test(value)) wrong();
      prepared.bindBlob(index, Buffer.from(value, 'hex'));
      return;
    case 'TEXT':
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP_NTZ':
    case 'TIMESTAMP_LTZ':
    case 'TIMESTAMP_TZ':
      prepared.bindVarchar(index, value);
      return;
    default:
      wrong();
  }
}

/** DuckDB's integer types: all of them NUMBER(38,0) in Snowflake's `rowType`. */
const INTEGER_TYPES: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);

function column(name: string, type: string, more: Partial<SnowflakeFakeColumn> = {}): SnowflakeFakeColumn {
  return {
    name,
    type,
    precision: null,
    scale: null,
    length: null,
    byteLength: null,
    nullable: true,
    ...more,
  };
}

/** The `rowType` entry Snowflake would give a column of this DuckDB type. */
function columnOf(name: string, type: DuckDBType): SnowflakeFakeColumn {
  if (INTEGER_TYPES.has(type.typeId)) return column(name, 'fixed', { precision: 38, scale: 0 });
  if (type.alias === 'JSON') return column(name, 'variant');
  switch (type.typeId) {
    case DuckDBTypeId.DECIMAL: {
      const { width: precision, scale } = type as unknown as { width: number; scale: number };
      return column(name, 'fixed', { precision, scale });
    }
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return column(name, 'real');
    case DuckDBTypeId.BOOLEAN:
      return column(name, 'boolean');
    case DuckDBTypeId.DATE:
      return column(name, 'date');
    case DuckDBTypeId.TIME:
    case DuckDBTypeId.TIME_NS:
      return column(name, 'time', { scale: 9 });
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_NS:
      return column(name, 'timestamp_ntz', { scale: 9 });
    case DuckDBTypeId.TIMESTAMP_TZ:
      return column(name, 'timestamp_ltz', { scale: 9 });
    case DuckDBTypeId.BLOB:
      return column(name, 'binary', { length: 8_388_608, byteLength: 8_388_608 });
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return column(name, 'array');
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
      return column(name, 'object');
    default:
      return column(name, 'text', { length: 16_777_216, byteLength: 16_777_216 });
  }
}

/**
 * The identifiers a statement double-quotes (`"mixedCase"`, `""` an escaped quote), outside string literals
 * and comments: the names Snowflake keeps as written.
 */
export function quotedIdentifiers(sql: string): Set<string> {
  const quoted = new Set<string>();
  const pattern = /'(?:[^'\\]|\\.|'')*'|--[^\n]*|\/\*[\s\S]*?\*\/|"((?:[^"]|"")*)"/g;
  for (const match of sql.matchAll(pattern)) {
    if (match[1] !== undefined) quoted.add(match[1].replaceAll('""', '"'));
  }
  return quoted;
}

/**
 * A result column's name as Snowflake answers it: upper-cased unless the statement quoted it.
 *
 * @example
 * ```ts
 * snowflakeName('total', new Set()); // 'TOTAL'
 * snowflakeName('mixedCase', new Set(['mixedCase'])); // 'mixedCase'
 * ```
 */
export function snowflakeName(name: string, quoted: ReadonlySet<string>): string {
  return quoted.has(name) ? name : name.toUpperCase();
}

/**
 * `seconds.nanoseconds` of a count of nanoseconds, as jsonv2 writes times and timestamps: the sign applies
 * to the whole value, fraction included (1.5 s before 1970 is `-1.500000000`, as Snowflake's own drivers
 * read it: the text as one signed number).
 */
function secondsText(nanos: bigint): string {
  const magnitude = nanos < 0n ? -nanos : nanos;
  const fraction = String(magnitude % 1_000_000_000n).padStart(9, '0');
  return `${nanos < 0n ? '-' : ''}${magnitude / 1_000_000_000n}.${fraction}`;
}

function nested(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (value instanceof DuckDBListValue) return value.items.map(nested);
  if (value instanceof DuckDBStructValue) {
    return Object.fromEntries(Object.entries(value.entries).map(([key, item]) => [key, nested(item)]));
  }
  if (value instanceof DuckDBMapValue) {
    return Object.fromEntries(value.entries.map((entry) => [String(entry.key), nested(entry.value)]));
  }
  if (
    value === null ||
    typeof value === 'number' ||
    typeof value === 'boolean' ||
    typeof value === 'string'
  ) {
    return value;
  }
  return String(value);
}

/** A decimal's exact text: `1.50`, `-0.25`. */
function decimalText({ value, scale }: DuckDBDecimalValue): string {
  const digits = (value < 0n ? -value : value).toString().padStart(scale + 1, '0');
  const sign = value < 0n ? '-' : '';
  const whole = digits.slice(0, digits.length - scale);
  return scale === 0 ? `${sign}${whole}` : `${sign}${whole}.${digits.slice(-scale)}`;
}

/** One value as jsonv2 text. */
function valueText(value: unknown, type: string): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof DuckDBDecimalValue) return decimalText(value);
  if (value instanceof DuckDBDateValue) return String(value.days);
  if (value instanceof DuckDBTimeValue) return secondsText(value.micros * 1000n);
  if (value instanceof DuckDBTimeNSValue) return secondsText(value.nanos);
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) {
    return secondsText(value.micros * 1000n);
  }
  if (value instanceof DuckDBTimestampNanosecondsValue) return secondsText(value.nanos);
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString('hex').toUpperCase();
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'inf' : '-inf';
  }
  if (type === 'array' || type === 'object') return JSON.stringify(nested(value));
  return String(value);
}

/** Statements kept at most; the oldest finished ones are forgotten first. */
const MAX_STATEMENTS = 500;
/** A result larger than this fails (the fake holds results in memory). */
const MAX_ROWS = 1_000_000;
/** How often a stop is repeated until DuckDB notices it (one that lands before it has begun is a no-op). */
const INTERRUPT_REPEAT_MS = 20;

async function execute(
  statement: SnowflakeFakeStatement,
  prepared: DuckDBPreparedStatement,
  quoted: ReadonlySet<string>,
): Promise<void> {
  const connection = statement.connection as DuckDBConnection;
  const timer =
    statement.timeoutSeconds > 0
      ? setTimeout(() => void stop(statement, 'timeout'), statement.timeoutSeconds * 1000)
      : undefined;
  timer?.unref();
  try {
    const result = await prepared.stream();
    statement.columns = result
      .columnNames()
      .map((name, i) => columnOf(snowflakeName(name, quoted), result.columnType(i)));
    const types = statement.columns.map((c) => c.type);
    for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0; ) {
      if (statement.rows.length + chunk.rowCount > MAX_ROWS) throw new Error('result too large');
      for (const row of chunk.getRows())
        statement.rows.push(row.map((v, i) => valueText(v, types[i] ?? 'text')));
      chunk = await result.fetchChunk();
    }
    statement.state = 'succeeded';
  } catch (error) {
    statement.rows = [];
    statement.state = 'failed';
    if (statement.stop === 'cancel') {
      statement.failure = { code: '000604', sqlState: '57014', message: 'SQL execution canceled' };
    } else if (statement.stop === 'timeout') {
      statement.failure = {
        code: '000630',
        sqlState: '57014',
        message: `Statement reached its statement or warehouse timeout of ${statement.timeoutSeconds} second(s) and was canceled.`,
      };
    } else {
      statement.failure = failureOf(error);
    }
  } finally {
    clearTimeout(timer);
    connection.closeSync();
    statement.connection = undefined;
  }
}

async function stop(statement: SnowflakeFakeStatement, why: 'cancel' | 'timeout'): Promise<void> {
  if (statement.state !== 'running') return;
  statement.stop ??= why;
  statement.connection?.interrupt();
  const again = setInterval(() => statement.connection?.interrupt(), INTERRUPT_REPEAT_MS);
  try {
    await statement.done;
  } finally {
    clearInterval(again);
  }
}

function forgetOld(state: SnowflakeFakeState): void {
  const finished = [...state.statements.values()].filter((s) => s.state !== 'running');
  for (const old of finished.slice(0, Math.max(0, state.statements.size - MAX_STATEMENTS))) {
    state.statements.delete(old.handle);
  }
}

function statusAnswer(statement: SnowflakeFakeStatement, state: SnowflakeFakeState, url: string): Answer {
  const handle = statement.handle;
  const statementStatusUrl = `/api/v2/statements/${handle}`;
  if (statement.state === 'running') {
    return json(202, {
      code: '333334',
      message:
        'Asynchronous execution in progress. Use provided query id to perform query monitoring and management.',
      statementHandle: handle,
      statementStatusUrl,
    });
  }
  if (statement.state === 'failed') {
    // The reference: a statement stopped by its timeout is a 408 with a QueryStatus; other failures 422.
    return json(statement.stop === 'timeout' ? 408 : 422, {
      ...(statement.failure as Failure),
      statementHandle: handle,
      statementStatusUrl,
      createdOn: statement.createdOn,
    });
  }
  const size = state.partitionRows;
  const partitionInfo = [];
  for (let start = 0; start < statement.rows.length || start === 0; start += size) {
    const rows = statement.rows.slice(start, start + size);
    partitionInfo.push({ rowCount: rows.length, uncompressedSize: Buffer.byteLength(JSON.stringify(rows)) });
  }
  const links =
    partitionInfo.length > 1 ? { link: `<${url}${statementStatusUrl}?partition=1>; rel="next"` } : undefined;
  return json(
    200,
    {
      resultSetMetaData: {
        numRows: statement.rows.length,
        format: 'jsonv2',
        partitionInfo,
        rowType: statement.columns.map((c) => ({
          ...c,
          database: '',
          schema: '',
          table: '',
          collation: null,
        })),
      },
      data: statement.rows.slice(0, size),
      code: '090001',
      statementStatusUrl,
      sqlState: '00000',
      statementHandle: handle,
      message: 'Statement executed successfully.',
      createdOn: statement.createdOn,
    },
    links,
  );
}

function statementOf({ params, state }: RouteContext<SnowflakeFakeState>): SnowflakeFakeStatement {
  const handle = params['handle'] ?? '';
  const statement = state.statements.get(handle);
  if (statement === undefined) {
    refuse(
      failed(
        422,
        { code: '000709', sqlState: '02000', message: `Statement ${handle.slice(0, 80)} not found` },
        handle,
      ),
    );
  }
  return statement;
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms).unref());

/** The POST body's statement, timeout and bindings, checked; a bad one is a 400. */
function submission(raw: unknown): { sql: string; timeout: number; bindings: Record<string, unknown> } {
  const body = (raw ?? {}) as Record<string, unknown>;
  const sql = body['statement'];
  if (typeof sql !== 'string' || sql.trim() === '') {
    refuse(json(400, { code: '391903', message: 'The request body must contain a statement.' }));
  }
  const timeout = body['timeout'] ?? 0;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > 604_800) {
    refuse(json(400, { code: '391904', message: 'timeout must be an integer number of seconds.' }));
  }
  const bindings = body['bindings'] ?? {};
  if (typeof bindings !== 'object' || bindings === null || Array.isArray(bindings)) {
    refuse(json(400, { code: '391905', message: 'bindings must be an object.' }));
  }
  return { sql: sql as string, timeout: timeout as number, bindings: bindings as Record<string, unknown> };
}

async function submit(context: RouteContext<SnowflakeFakeState>): Promise<Answer> {
  const { request, state, url } = context;
  const requestId = request.query['requestId'];
  if (
    requestId !== undefined &&
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requestId)
  ) {
    refuse(json(400, { code: '391902', message: 'requestId must be a UUID.' }));
  }
  // The reference ("Resubmitting a request to execute SQL statements"): with the request ID of an earlier
  // request, Snowflake does not execute the statement again if it has already executed successfully; one
  // still running is answered as well. One that failed is executed again (the point of resubmitting).
  const earlier = requestId === undefined ? undefined : state.requests.get(requestId);
  const resubmitted = earlier === undefined ? undefined : state.statements.get(earlier);
  if (resubmitted !== undefined && resubmitted.state !== 'failed') {
    return statusAnswer(resubmitted, state, url);
  }
  const { sql, timeout, bindings } = submission(request.body);
  const handle = randomUUID();
  database ??= openDatabase();
  const connection = await (await database).connect();
  let prepared: DuckDBPreparedStatement;
  try {
    const statements = await connection.extractStatements(sql);
    if (statements.count !== 1) {
      connection.closeSync();
      return failed(
        422,
        {
          code: '000008',
          sqlState: '0A000',
          message: `Actual statement count ${statements.count} did not match the desired statement count 1.`,
        },
        handle,
      );
    }
    prepared = await statements.prepare(0);
    const given = Object.keys(bindings);
    if (prepared.parameterCount !== given.length) {
      connection.closeSync();
      return failed(
        422,
        {
          code: '002049',
          sqlState: '42601',
          message: `Bind variable count ${given.length} does not match the ${prepared.parameterCount} placeholders.`,
        },
        handle,
      );
    }
    for (let i = 1; i <= prepared.parameterCount; i += 1) bind(prepared, i, bindings[String(i)]);
  } catch (error) {
    connection.closeSync();
    if (error instanceof Error && error.name === 'AnswerError') throw error;
    return failed(422, failureOf(error), handle);
  }
  const statement: SnowflakeFakeStatement = {
    handle,
    state: 'running',
    createdOn: Date.now(),
    columns: [],
    rows: [],
    failure: undefined,
    connection,
    stop: undefined,
    timeoutSeconds: timeout,
    done: Promise.resolve(),
  };
  state.statements.set(handle, statement);
  if (requestId !== undefined) state.requests.set(requestId, handle);
  forgetOld(state);
  statement.done = execute(statement, prepared, quotedIdentifiers(sql));
  if (request.query['async'] !== 'true') {
    await Promise.race([statement.done, sleep(45_000)]);
  }
  return statusAnswer(statement, state, url);
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(snowflakeFake({ partitionRows: 100 }));
 * ```
 */
export function snowflakeFake(options: SnowflakeFakeOptions = {}): FakeDefinition<SnowflakeFakeState> {
  return {
    name: 'Snowflake',
    seed: () => {
      const state: SnowflakeFakeState = {
        publicKeys: new Map(),
        statements: new Map(),
        requests: new Map(),
        partitionRows: options.partitionRows ?? 500,
        subjects: [],
      };
      for (const key of options.publicKeys ?? [sandboxKeyPair().publicKey]) {
        const publicKey = typeof key === 'string' ? createPublicKey(key) : key;
        state.publicKeys.set(fingerprintOf(publicKey), publicKey);
      }
      return state;
    },
    errors: snowflakeErrors,
    authorize,
    secretFields: ['bindings'],
    routes: [
      { name: 'submit-statement', method: 'POST', path: '/api/v2/statements', handle: submit },
      {
        name: 'get-statement',
        method: 'GET',
        path: '/api/v2/statements/:handle',
        handle: (context) => {
          const statement = statementOf(context);
          const raw = context.request.query['partition'];
          if (raw === undefined || statement.state !== 'succeeded') {
            return statusAnswer(statement, context.state, context.url);
          }
          const partition = Number(raw);
          const size = context.state.partitionRows;
          const count = Math.max(1, Math.ceil(statement.rows.length / size));
          if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
            refuse(json(400, { code: '391906', message: `Partition ${raw.slice(0, 20)} does not exist.` }));
          }
          if (partition === 0) return statusAnswer(statement, context.state, context.url);
          // As Snowflake does: a partition after the first is gzip-compressed (Content-Encoding: gzip)
          // though the request sent no Accept-Encoding.
          return {
            status: 200,
            contentType: 'application/json',
            headers: { 'content-encoding': 'gzip' },
            body: gzipSync(
              JSON.stringify({ data: statement.rows.slice(partition * size, (partition + 1) * size) }),
            ),
          };
        },
      },
      {
        name: 'cancel-statement',
        method: 'POST',
        path: '/api/v2/statements/:handle/cancel',
        handle: async (context) => {
          const statement = statementOf(context);
          await stop(statement, 'cancel');
          return json(200, {
            code: '000000',
            sqlState: '00000',
            message: 'successfully canceled',
            statementHandle: statement.handle,
            statementStatusUrl: `/api/v2/statements/${statement.handle}`,
          });
        },
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startSnowflakeFake({ partitionRows: 100 });
 * ```
 */
export function startSnowflakeFake(
  options: SnowflakeFakeOptions = {},
): Promise<FakeServer<SnowflakeFakeState>> {
  return startFake(snowflakeFake(options), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/snowflake.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startSnowflakeFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Snowflake sandbox: SNOWFLAKE_API_URL=${fake.url} (the sandbox key pair signs)`);
}
