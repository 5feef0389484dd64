/**
 * The one PostgreSQL connection a container keeps: opened on first use, reused across invocations, used by
 * one operation at a time, reopened when the server closed it, re-authenticated once after a secret
 * rotation, and bounded in time by both `statement_timeout` and the Lambda's remaining time.
 */
import { isIP, connect as netConnect } from 'node:net';
import { callBudget, type Replay, ReusedConnection, remainingTimeMs, TimeoutError } from '@circle-core/core';
import pg from 'pg';
import type { DatabaseCredentials, DatabaseEndpoint } from './credentials.ts';
import { driverError, StatementFailure } from './errors.ts';
import {
  isAuthFailure,
  isConnectionLost,
  toPostgresError,
  wasTerminatedByServer,
} from './postgres-errors.ts';
import { exactJsonParse, floatValue } from './values.ts';

/** Builds a `pg.Client`; tests inject their own. */
export type ClientFactory = (config: pg.ClientConfig) => pg.Client;

/** How the connection is opened and bounded. */
export interface ConnectionOptions {
  credentials: DatabaseCredentials;
  /** `verify-full`: TLS with certificate chain and host name checks; `disable`: plain TCP (local only). */
  ssl: 'verify-full' | 'disable';
  /** Server-side `statement_timeout` of the session, in ms. */
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Sets `default_transaction_read_only = on` for the session. */
  readOnly: boolean;
  applicationName: string;
  createClient?: ClientFactory;
  /** Milliseconds left in the invocation (`Infinity` outside Lambda). */
  remainingTimeMs?: () => number;
}

/** A connection lent to one unit of work. */
export interface Session {
  /**
   * Runs one statement over the extended protocol, so the server refuses more than one statement per call
   * and values only travel as bound parameters.
   */
  run(sql: string, params?: readonly unknown[]): Promise<pg.QueryResult>;
  /**
   * Runs `COPY ... FROM STDIN` (pg-copy-streams) with the chunks as its data, awaiting back-pressure;
   * answers the rows the server copied. Bounded by the session's `statement_timeout` like any statement.
   */
  copyFrom(sql: string, chunks: AsyncIterable<string | Buffer> | Iterable<string | Buffer>): Promise<number>;
  /** `I` idle, `T` in a transaction, `E` in a failed transaction (as the last ReadyForQuery said). */
  transactionStatus(): string | null;
}

export type { Replay };
export { StatementFailure };

/** The server's statement_timeout fires first; the client-side timer only catches a stalled network. */
const CLIENT_GRACE_MS = 2_000;
const CANCEL_WAIT_MS = 200;

/** Dates and times stay the server's text (no time zone shifts, microseconds kept); bytea becomes base64. */
const TEXT_TYPES = new Set([1082, 1083, 1114, 1184, 1186, 1266]);
const TEXT_ARRAY_TYPES = new Set([1182, 1183, 1115, 1185, 1187, 1270]);
const TEXT_ARRAY = 1009;
const BYTEA = 17;
const BYTEA_ARRAY = 1001;
/**
 * Numbers stay exact: `numeric[]` as text like `numeric`; `real` and `double precision` as numbers, but
 * NaN and the infinities by name (JSON has none); json numbers a double cannot hold as their text.
 */
const NUMERIC_ARRAY = 1231;
const FLOAT_TYPES = new Set([700, 701]);
const FLOAT_ARRAY_TYPES = new Set([1021, 1022]);
const JSON_TYPES = new Set([114, 3802]);
const JSON_ARRAY_TYPES = new Set([199, 3807]);

function hexToBase64(value: string): string {
  return Buffer.from(value.startsWith('\\x') ? value.slice(2) : value, 'hex').toString('base64');
}

function mapNested(value: unknown, map: (item: string) => unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => mapNested(item, map));
  return typeof value === 'string' ? map(value) : value;
}

// pg-types types its OID parameter as an enum of built-ins; array OIDs are just as valid at run time.
const defaultParser = pg.types.getTypeParser as unknown as (
  oid: number,
  format: 'text' | 'binary',
) => (value: string) => unknown;

function getTypeParser(oid: number, format?: string): (value: string) => unknown {
  if (format === 'binary') return defaultParser(oid, 'binary');
  if (TEXT_TYPES.has(oid)) return (value) => value;
  if (TEXT_ARRAY_TYPES.has(oid)) return defaultParser(TEXT_ARRAY, 'text');
  if (oid === NUMERIC_ARRAY) return defaultParser(TEXT_ARRAY, 'text');
  if (FLOAT_TYPES.has(oid)) return floatValue;
  if (JSON_TYPES.has(oid)) return exactJsonParse;
  if (FLOAT_ARRAY_TYPES.has(oid) || JSON_ARRAY_TYPES.has(oid)) {
    const parseArray = defaultParser(TEXT_ARRAY, 'text');
    const parseItem = FLOAT_ARRAY_TYPES.has(oid) ? floatValue : exactJsonParse;
    return (value) => mapNested(parseArray(value), parseItem);
  }
  if (oid === BYTEA) return hexToBase64;
  if (oid === BYTEA_ARRAY) {
    const parseArray = defaultParser(TEXT_ARRAY, 'text');
    return (value) => mapNested(parseArray(value), hexToBase64);
  }
  return defaultParser(oid, 'text');
}

const TYPES = { getTypeParser } as unknown as NonNullable<pg.ClientConfig['types']>;

/**
 * TLS that checks the certificate chain against the process's CAs (Node.js's bundle plus the file
 * NODE_EXTRA_CA_CERTS names) and the host name. SNI carries names only (RFC 6066): for an IP address the
 * certificate is still checked against it, as an IP address entry.
 */
function verifyFull(host: string): pg.ClientConfig['ssl'] {
  return isIP(host) === 0 ? { rejectUnauthorized: true, servername: host } : { rejectUnauthorized: true };
}

interface Live {
  client: pg.Client;
  endpoint: DatabaseEndpoint;
}

/**
 * One reused PostgreSQL connection with serialised use: the core's {@link ReusedConnection} with a driver
 * that opens `pg` clients, reads their errors and rolls back a failed unit of work.
 *
 * @example
 * ```ts
 * const connection = new PostgresConnection({ credentials, ssl: 'disable', statementTimeoutMs: 15_000,
 *   connectTimeoutMs: 5_000, readOnly: false, applicationName: 'circle-core-postgres' });
 * const rows = await connection.use((session) => session.run('select 1 as one'), 'read');
 * ```
 */
export class PostgresConnection {
  readonly #options: ConnectionOptions;
  readonly #createClient: ClientFactory;
  readonly #remainingTimeMs: () => number;
  readonly #connection: ReusedConnection<Live>;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#createClient = options.createClient ?? ((config) => new pg.Client(config));
    this.#remainingTimeMs = options.remainingTimeMs ?? (() => remainingTimeMs());
    this.#connection = new ReusedConnection<Live>(
      {
        name: 'PostgreSQL',
        open: (timeoutMs) => this.#connect(timeoutMs),
        close: (live) => live.client.end().catch(() => undefined),
        isConnectionLost: (error) => isConnectionLost(driverError(error)),
        wasUndone: (error) => wasTerminatedByServer(driverError(error)),
        isAuthFailure: (error) => isAuthFailure(error) && options.credentials.rotatable,
        refreshCredentials: async () => {
          await options.credentials.refresh();
          return true;
        },
        // A failed unit of work must not leave its transaction open for the next one.
        afterFailure: async (live) => {
          if (live.client.getTransactionStatus() !== 'I') await this.#run(live, 'rollback', []);
        },
      },
      { connectTimeoutMs: options.connectTimeoutMs, remainingTimeMs: this.#remainingTimeMs },
    );
  }

  /**
   * Runs `work` with the connection, one unit of work at a time; see {@link ReusedConnection.use}. Every
   * failure is mapped once into the error taxonomy here.
   */
  async use<T>(work: (session: Session) => Promise<T>, replay: Replay): Promise<T> {
    try {
      return await this.#connection.use((live) => work(this.#session(live)), replay);
    } catch (error) {
      const statementIndex = error instanceof StatementFailure ? error.index : undefined;
      throw toPostgresError(driverError(error), { readOnly: this.#options.readOnly, statementIndex });
    }
  }

  /** Closes the connection; the next use opens a new one. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #session(live: Live): Session {
    return {
      run: (sql, params = []) => this.#run(live, sql, params),
      copyFrom: async (sql, chunks) => {
        // Loaded on first COPY (the transform connector's loads): the postgres connector never copies, and
        // pg-copy-streams with the stream helpers cost its cold start about 2 ms of CPU. pg-copy-streams is
        // CommonJS: its functions are on the default export (module.exports), the only export esbuild's lazy
        // chunk of a CommonJS module has; Node's named-export detection is not there in the bundle.
        const [{ default: copyStreams }, { Readable }, { pipeline }] = await Promise.all([
          import('pg-copy-streams'),
          import('node:stream'),
          import('node:stream/promises'),
        ]);
        const stream = live.client.query(copyStreams.from(sql));
        await pipeline(Readable.from(chunks), stream);
        return stream.rowCount ?? 0;
      },
      transactionStatus: () => live.client.getTransactionStatus(),
    };
  }

  async #run(live: Live, sql: string, params: readonly unknown[]): Promise<pg.QueryResult> {
    const timeoutMs = callBudget(
      this.#options.statementTimeoutMs + CLIENT_GRACE_MS,
      'The statement',
      this.#remainingTimeMs(),
    );
    // `queryMode` is in pg 8 but not in its type definitions.
    const config: pg.QueryConfig & { queryMode: 'extended'; query_timeout: number } = {
      text: sql,
      values: [...params],
      queryMode: 'extended',
      query_timeout: timeoutMs,
    };
    try {
      return await live.client.query(config);
    } catch (error) {
      if (error instanceof Error && error.message === 'Query read timeout') {
        // The statement may still run on the server: cancel it, and drop the session it occupies.
        await this.#cancel(live);
        this.#connection.discard(live);
        throw new TimeoutError(
          `The statement did not finish within ${timeoutMs} ms (statement timeout or the invocation's remaining time)`,
        );
      }
      throw error;
    }
  }

  async #connect(timeoutMs: number): Promise<Live> {
    const endpoint = await this.#options.credentials.endpoint();
    const client = this.#createClient({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      password: endpoint.password,
      database: endpoint.database,
      ssl: this.#options.ssl === 'verify-full' ? verifyFull(endpoint.host) : false,
      application_name: this.#options.applicationName,
      connectionTimeoutMillis: timeoutMs,
      keepAlive: true,
      types: TYPES,
    });
    const live: Live = { client, endpoint };
    // An idle connection the server closes emits 'error'; without a listener it would crash the process.
    client.on('error', () => this.#connection.markBroken(live));
    client.on('end', () => this.#connection.markBroken(live));
    try {
      await client.connect();
      // A statement, not startup parameters: PGlite ignores those and PgBouncer refuses unknown ones.
      await client.query({
        text: "select set_config('statement_timeout', $1, false), set_config('default_transaction_read_only', $2, false)",
        values: [String(this.#options.statementTimeoutMs), this.#options.readOnly ? 'on' : 'off'],
      });
    } catch (error) {
      void client.end().catch(() => undefined);
      throw error;
    }
    return live;
  }

  /** Best-effort CancelRequest (protocol message 80877102) for the statement a timed-out session runs. */
  async #cancel(live: Live): Promise<void> {
    const { processID, secretKey } = live.client as unknown as { processID?: unknown; secretKey?: unknown };
    if (typeof processID !== 'number' || typeof secretKey !== 'number') return;
    const message = Buffer.alloc(16);
    message.writeInt32BE(16, 0);
    message.writeInt32BE(80877102, 4);
    message.writeInt32BE(processID, 8);
    message.writeInt32BE(secretKey, 12);
    await new Promise<void>((resolve) => {
      const socket = netConnect({ host: live.endpoint.host, port: live.endpoint.port });
      const done = (): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      const timer = setTimeout(done, CANCEL_WAIT_MS);
      socket.on('error', done);
      socket.on('connect', () => socket.end(message, done));
    });
  }
}
