import {
  ANSWER_RESERVE_MS,
  ConflictError,
  type ConnectorError,
  ForbiddenError,
  TimeoutError,
  ValidationError,
} from '@circle-core/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSqlDatabaseConformance } from '#shared/interfaces/sql-database.conformance.ts';
import { urlCredentials } from '#shared/sql/credentials.ts';
import {
  type PgliteServer,
  realPostgresUrl,
  startPglite,
  uniqueName,
  withPostgres,
} from '../../../test/peers/postgres.ts';
import { POSTGRES, PostgresClient, type PostgresClientOptions } from './client.ts';
import { type ClientFactory, PostgresConnection } from './connection.ts';

function clientFor(url: string, options: Partial<PostgresClientOptions> = {}): PostgresClient {
  return new PostgresClient({
    credentials: urlCredentials(url, POSTGRES),
    ssl: 'disable',
    statementTimeoutMs: 15_000,
    connectTimeoutMs: 5_000,
    readOnly: false,
    applicationName: 'circle-core-test',
    ...options,
  });
}

const quote = (name: string): string => pg.escapeIdentifier(name);

/** The error a call failed with; fails the test when it succeeded. */
async function failureOf(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (error) {
    return error as ConnectorError;
  }
  throw new Error('expected the call to fail');
}

describeSqlDatabaseConformance('PostgresClient on the real PostgreSQL server', async () => {
  const url = realPostgresUrl();
  const schema = uniqueName('conformance_pg');
  await withPostgres(url, (admin) => admin.query(`create schema ${quote(schema)}`));
  const db = clientFor(url);
  return {
    db,
    schema,
    placeholder: (position) => `$${position}`,
    quote,
    cleanup: async () => {
      await db.close();
      await withPostgres(url, (admin) => admin.query(`drop schema ${quote(schema)} cascade`));
    },
  };
});

/** One PGlite for the whole file: starting one costs seconds of CPU, which a busy machine may not have. */
let pgliteStarted: Promise<PgliteServer> | undefined;
function sharedPglite(): Promise<PgliteServer> {
  if (pgliteStarted === undefined) pgliteStarted = startPglite();
  return pgliteStarted;
}

afterAll(async () => {
  await (await pgliteStarted)?.close();
});

describeSqlDatabaseConformance('PostgresClient on PGlite over the wire protocol', async () => {
  const pglite = await sharedPglite();
  const schema = uniqueName('conformance_pg');
  const db = clientFor(pglite.url);
  await db.query({ sql: `create schema ${quote(schema)}` });
  return {
    db,
    schema,
    placeholder: (position) => `$${position}`,
    quote,
    cleanup: async () => {
      await db.close();
    },
  };
});

/**
 * A `pg.Client` factory that records the client-side timeout (`query_timeout`) of every statement, so a test
 * asserts the bound the connector set instead of measuring wall time.
 */
function recordingTimeouts(timeouts: number[]): ClientFactory {
  return (config) => {
    const client = new pg.Client(config);
    const query = client.query.bind(client) as (config: unknown) => Promise<unknown>;
    Object.assign(client, {
      query: (queryConfig: unknown) => {
        const timeout = (queryConfig as { query_timeout?: unknown }).query_timeout;
        if (typeof timeout === 'number') timeouts.push(timeout);
        return query(queryConfig);
      },
    });
    return client;
  };
}

/** A `pg.Client` factory that counts the connections it opens. */
function countingFactory(): { createClient: ClientFactory; opened: () => number } {
  let opened = 0;
  return {
    createClient: (config) => {
      opened += 1;
      return new pg.Client(config);
    },
    opened: () => opened,
  };
}

interface Peer {
  url: string;
  /** Backends the server holds for an application name; undefined where the peer cannot tell (PGlite). */
  backends(application: string): Promise<number | undefined>;
  close(): Promise<void>;
}

const PEERS: [string, () => Promise<Peer>][] = [
  [
    'the real PostgreSQL server',
    async () => ({
      url: realPostgresUrl(),
      backends: async (application) => {
        const result = await withPostgres(realPostgresUrl(), (admin) =>
          admin.query('select count(*)::int as n from pg_stat_activity where application_name = $1', [
            application,
          ]),
        );
        return result.rows[0].n as number;
      },
      close: async () => undefined,
    }),
  ],
  [
    'PGlite over the wire protocol',
    async () => {
      const pglite = await sharedPglite();
      return { url: pglite.url, backends: async () => undefined, close: async () => undefined };
    },
  ],
];

/** Requests whose SQL or parameters the server cannot use; `pointer` is the field the answer must name. */
const CALLER_MISTAKES: [string, (db: PostgresClient) => Promise<unknown>, string][] = [
  ['a placeholder without a value', (db) => db.query({ sql: 'select $1::int' }), '/params'],
  ['a value without a placeholder', (db) => db.query({ sql: 'select 1', params: [7] }), '/params'],
  [
    'a NUL character in the SQL',
    (db) => db.query({ sql: "select 'secret-in-sql' as a\u0000; select 2" }),
    '/sql',
  ],
  [
    'a NUL character in a text parameter',
    (db) => db.query({ sql: 'select $1::text', params: ['secret\u0000value'] }),
    '/params/0',
  ],
  [
    'a NUL character in an array parameter',
    (db) => db.query({ sql: 'select $1::text[]', params: [['ok', 'secret\u0000value']] }),
    '/params/0/1',
  ],
  [
    'a parameter count that does not match in a batch',
    (db) => db.execute({ statements: [{ sql: 'select 1' }, { sql: 'select $2::int', params: [1] }] }),
    '/statements/1/params',
  ],
];

describe.each(PEERS)('Caller mistakes in the SQL, on %s', (_, start) => {
  const application = uniqueName('mistakes');
  const counter = countingFactory();
  let peer: Peer;
  let db: PostgresClient;
  let pid: unknown;

  beforeAll(async () => {
    peer = await start();
    db = clientFor(peer.url, { applicationName: application, createClient: counter.createClient });
    pid = (await db.query({ sql: 'select pg_backend_pid() as pid' })).rows[0]?.['pid'];
  });

  afterAll(async () => {
    await db.close();
    await peer.close();
  });

  it.each(CALLER_MISTAKES)(
    'answers %s with a 400 ValidationError naming the field',
    async (_, call, pointer) => {
      // Act
      const error = await failureOf(call(db));
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ status: 400, retryable: false });
      expect((error as ValidationError).issues).toEqual([
        { pointer, message: error.message.replace(/^Statement \d+ was refused: /, '') },
      ]);
      expect(`${error.message} ${JSON.stringify(error.details)}`).not.toContain('secret');
    },
  );

  it('keeps the one connection it had through every mistake', async () => {
    // Act
    for (const [, call] of CALLER_MISTAKES) await call(db).catch(() => undefined);
    const after = (await db.query({ sql: 'select pg_backend_pid() as pid' })).rows[0]?.['pid'];
    // Assess
    expect(after).toBe(pid);
    expect(counter.opened()).toBe(1);
    expect(await peer.backends(application)).toBeOneOf([1, undefined]);
  });

  it('counts placeholders as the server does: not in strings, quoted names, comments or dollar quotes', async () => {
    // Act
    const result = await db.query({
      sql:
        "select $1::int as n, '$2' as s, E'it\\'s $3' as e, 1 as \"x$4\", $$ $5 $$ as d, " +
        '$tag$ $6 $tag$ as t /* $7 /* $8 */ */ -- $9',
      params: [1],
    });
    // Assess
    expect(result.rows).toEqual([{ n: 1, s: '$2', e: "it's $3", x$4: 1, d: ' $5 ', t: ' $6 ' }]);
  });

  it('answers a protocol violation the checks let through with ValidationError, on the same connection', async () => {
    // Prepare: the connection itself, below the client's checks, sends what the server refuses.
    const below = countingFactory();
    const connection = new PostgresConnection({
      credentials: urlCredentials(peer.url, POSTGRES),
      ssl: 'disable',
      statementTimeoutMs: 15_000,
      connectTimeoutMs: 5_000,
      readOnly: false,
      applicationName: application,
      createClient: below.createClient,
    });
    // Act
    const error = await failureOf(connection.use((session) => session.run('select $1::int', []), 'read'));
    const next = await connection.use((session) => session.run('select 1 as one'), 'read');
    await connection.close();
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(/bind message supplies 0 parameters.*\(SQLSTATE 08P01\)/);
    expect(error.retryable).toBe(false);
    expect(next.rows).toEqual([{ one: 1 }]);
    expect(below.opened()).toBe(1);
  });
});

describe('Class: PostgresClient (real server)', () => {
  const url = realPostgresUrl();
  const schema = uniqueName('client_pg');
  const table = (name: string): string => `${quote(schema)}.${quote(name)}`;
  let db: PostgresClient;

  const count = async (name: string): Promise<number> => {
    const result = await withPostgres(url, (admin) =>
      admin.query(`select count(*)::int as n from ${table(name)}`),
    );
    return result.rows[0].n as number;
  };

  beforeAll(async () => {
    await withPostgres(url, async (admin) => {
      await admin.query(`create schema ${quote(schema)}`);
      await admin.query(`create table ${table('items')} (id integer primary key, label text, qty integer)`);
      await admin.query(`create type ${table('mood')} as enum ('ok', 'meh')`);
    });
    db = clientFor(url);
  });

  afterAll(async () => {
    await db.close();
    await withPostgres(url, (admin) => admin.query(`drop schema ${quote(schema)} cascade`));
  });

  describe('Method: insertRows', () => {
    it('inserts 10,000 rows in batched multi-row statements', async () => {
      // Prepare
      await db.query({
        sql: `create table ${table('bulk')} (id integer primary key, label text, qty integer)`,
      });
      const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: i, label: `row ${i}`, qty: i % 7 }));
      // Act
      const result = await db.insertRows({ schema, table: 'bulk', rows });
      // Assess
      expect(result).toEqual({ inserted: 10_000, batches: 10 });
      expect(await count('bulk')).toBe(10_000);
    });

    it('rolls back the earlier batches when a later batch fails', async () => {
      // Prepare
      await db.query({ sql: `create table ${table('bulk_fail')} (id integer primary key)` });
      const rows = Array.from({ length: 2_500 }, (_, i) => ({ id: i }));
      rows.push({ id: 0 });
      // Act
      const attempt = db.insertRows({ schema, table: 'bulk_fail', rows });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ConflictError);
      expect(await count('bulk_fail')).toBe(0);
    });

    it('throws ValidationError for a row with a column outside columns', async () => {
      // Act
      const attempt = db.insertRows({
        schema,
        table: 'items',
        columns: ['id'],
        rows: [{ id: 1, label: 'x' }],
      });
      // Assess
      await expect(attempt).rejects.toThrow(/Row 0 has a column that is not in columns: "label"/);
    });
  });

  describe('Method: query', () => {
    it('returns dates as text, bytea as base64, bigint as text and names every column type', async () => {
      // Act
      const result = await db.query({
        sql:
          `select '2024-01-02 03:04:05.123456+00'::timestamptz at time zone 'UTC' as at, $1::bytea as raw, ` +
          `9007199254740993::int8 as big, array['\\x0001'::bytea] as raws, 'ok'::${table('mood')} as mood, ` +
          `array['2024-01-02'::date] as days`,
        params: ['\\x6869'],
      });
      // Assess
      expect(result.rows).toEqual([
        {
          at: '2024-01-02 03:04:05.123456',
          raw: Buffer.from('hi').toString('base64'),
          big: '9007199254740993',
          raws: [Buffer.from([0, 1]).toString('base64')],
          mood: 'ok',
          days: ['2024-01-02'],
        },
      ]);
      expect(result.fields.map((field) => field.type)).toEqual([
        'timestamp without time zone',
        'bytea',
        'bigint',
        'bytea[]',
        expect.stringContaining('mood'),
        'date[]',
      ]);
    });

    it('answers numbers without losing digits: numeric arrays and big JSON integers as text, NaN and Infinity by name', async () => {
      // Act
      const result = await db.query({
        sql:
          `select array[1.10, 12345678901234567890.1234567890]::numeric[] as amounts, ` +
          `'NaN'::float8 as nan, 'Infinity'::float8 as inf, '-Infinity'::float4 as ninf, ` +
          `array['NaN'::float8, 1.5] as floats, 0.1::float4 as small, '-0'::float8 as nzero, ` +
          `'{"id": 9007199254740993, "n": [1.10, 18446744073709551615], "x": 0.5}'::jsonb as doc, ` +
          `array['{"id": 9223372036854775807}'::json] as docs, 'NaN'::numeric as nn`,
      });
      // Assess
      expect(result.rows).toEqual([
        {
          amounts: ['1.10', '12345678901234567890.1234567890'],
          nan: 'NaN',
          inf: 'Infinity',
          ninf: '-Infinity',
          floats: ['NaN', 1.5],
          small: 0.1,
          nzero: -0,
          doc: { id: '9007199254740993', n: [1.1, '18446744073709551615'], x: 0.5 },
          docs: [{ id: '9223372036854775807' }],
          nn: 'NaN',
        },
      ]);
    });

    it('keeps dates, times and timestamps as the server wrote them, whatever the process time zone', async () => {
      // Prepare: a zone west of UTC, where a date read as local midnight UTC would move to the day before.
      const zone = process.env['TZ'];
      process.env['TZ'] = 'America/Los_Angeles';
      try {
        // Act
        const result = await db.query({
          sql:
            `select $1::date as day, '1969-12-31 23:59:59.123456'::timestamp as before_epoch, ` +
            `'12000-01-01 00:00:00.000001+00'::timestamptz at time zone 'UTC' as far, 'infinity'::timestamptz as inf, ` +
            `'-infinity'::date as ninf, '0044-03-15 BC'::date as bc, '13:14:15.123456'::time as t, ` +
            `'1 year 2 mons 3 days 04:05:06.789'::interval as span, array[$1::date] as days`,
          params: ['2024-03-10'],
        });
        // Assess
        expect(result.rows).toEqual([
          {
            day: '2024-03-10',
            before_epoch: '1969-12-31 23:59:59.123456',
            far: '12000-01-01 00:00:00.000001',
            inf: 'infinity',
            ninf: '-infinity',
            bc: '0044-03-15 BC',
            t: '13:14:15.123456',
            span: '1 year 2 mons 3 days 04:05:06.789',
            days: ['2024-03-10'],
          },
        ]);
      } finally {
        if (zone === undefined) delete process.env['TZ'];
        else process.env['TZ'] = zone;
      }
    });

    it('refuses an integer parameter beyond 2^53, which JSON has already rounded, naming it', async () => {
      // Act
      const single = await failureOf(
        db.query({ sql: 'select $1::int8, $2::int8', params: [1, 2 ** 53 + 2] }),
      );
      const nested = await failureOf(
        db.execute({ statements: [{ sql: 'select $1::int8[]', params: [[1, -(2 ** 60)]] }] }),
      );
      const row = await failureOf(
        db.insertRows({
          schema,
          table: 'items',
          rows: [
            { id: 1, qty: 1 },
            { id: 2, qty: 2 ** 53 + 2 },
          ],
        }),
      );
      const exact = await db.query({ sql: 'select $1::int8 as id', params: ['9007199254740993'] });
      // Assess
      expect(single).toBeInstanceOf(ValidationError);
      expect(single.message).toMatch(/beyond 2\^53.*as a string/);
      expect((single as ValidationError).issues).toEqual([
        { pointer: '/params/1', message: expect.stringContaining('as a string') },
      ]);
      expect((nested as ValidationError).issues[0]?.pointer).toBe('/statements/0/params/0/1');
      expect((row as ValidationError).issues[0]?.pointer).toBe('/rows/1/qty');
      expect(exact.rows).toEqual([{ id: '9007199254740993' }]);
    });

    it('cuts the rows beyond maxRows and flags the result truncated', async () => {
      // Prepare
      const small = clientFor(url, { maxRows: 5 });
      // Act
      const result = await small.query({ sql: 'select n from generate_series(1, 10) as n' });
      await small.close();
      // Assess
      expect(result.rows).toHaveLength(5);
      expect(result).toMatchObject({ rowCount: 10, truncated: true });
    });

    it('throws ValidationError for BEGIN and leaves no transaction open', async () => {
      // Act
      const error = await db
        .query({ sql: '/* leading */ -- note\n BEGIN' })
        .catch((caught: unknown) => caught);
      await db.query({ sql: `create table ${table('after_begin')} (id integer)` });
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      const seen = await withPostgres(url, (admin) =>
        admin.query('select 1 from pg_tables where schemaname = $1 and tablename = $2', [
          schema,
          'after_begin',
        ]),
      );
      expect(seen.rowCount).toBe(1);
    });

    it('never puts a parameter value into the error message', async () => {
      // Act
      const error = await failureOf(
        db.query({ sql: 'select $1::integer', params: ['value-that-must-not-leak'] }),
      );
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain('SQLSTATE 22P02');
      expect(`${error.message} ${JSON.stringify(error.details)}`).not.toContain('value-that-must-not-leak');
    });

    it('throws TimeoutError when the server cancels the statement at the statement timeout, and stays usable', async () => {
      // Prepare
      const timeouts: number[] = [];
      const quick = clientFor(url, { statementTimeoutMs: 200, createClient: recordingTimeouts(timeouts) });
      // Act
      const error = await failureOf(quick.query({ sql: 'select pg_sleep(30)' }));
      // Assess: the server's statement_timeout ended it (57014), not the client-side timer behind it.
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.details).toMatchObject({ sqlstate: '57014' });
      // The statement's bound first; the statements resetting the session after it are bound alike.
      expect(timeouts[0]).toBe(200 + 2_000);
      expect(timeouts.every((timeout) => timeout === 200 + 2_000)).toBe(true);
      await expect(quick.query({ sql: 'select 1 as one' })).resolves.toMatchObject({ rows: [{ one: 1 }] });
      await quick.close();
    });

    it('bounds the statement by the invocation deadline, then cancels it on the server', async () => {
      // Prepare: 1,300 ms left in the invocation, far less than the 15 s statement timeout.
      const application = uniqueName('deadline');
      const timeouts: number[] = [];
      let remaining = 1_300;
      const bounded = clientFor(url, {
        applicationName: application,
        remainingTimeMs: () => remaining,
        createClient: recordingTimeouts(timeouts),
      });
      await bounded.query({ sql: 'select 1' });
      // Act
      const error = await failureOf(bounded.query({ sql: 'select pg_sleep(60)' }));
      // Assess: the client-side bound is the remaining time less the reserve kept to answer.
      const bound = 1_300 - ANSWER_RESERVE_MS;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toMatch(new RegExp(`did not finish within ${bound} ms`));
      expect(timeouts.at(-1)).toBe(bound);
      const running = async (): Promise<number> => {
        const activity = await withPostgres(url, (admin) =>
          admin.query("select 1 from pg_stat_activity where application_name = $1 and state = 'active'", [
            application,
          ]),
        );
        return activity.rowCount ?? 0;
      };
      // The cancel is immediate on a quiet machine; wait for it up to 10 s (the statement would run 60 s).
      for (let waited = 0; waited < 10_000 && (await running()) > 0; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await running()).toBe(0);
      remaining = 30_000;
      await expect(bounded.query({ sql: 'select 2 as two' })).resolves.toMatchObject({ rows: [{ two: 2 }] });
      await bounded.close();
    });

    it('throws TimeoutError without sending anything when no time is left', async () => {
      // Prepare
      const late = clientFor(url, { remainingTimeMs: () => 100 });
      // Act
      const attempt = late.query({ sql: 'select 1' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(TimeoutError);
      await late.close();
    });
  });

  describe('Method: execute', () => {
    it('refuses a batch with a COMMIT before running any of it', async () => {
      // Act
      const error = await failureOf(
        db.execute({
          statements: [
            { sql: `insert into ${table('items')} (id) values ($1)`, params: [100] },
            { sql: 'commit' },
            { sql: `insert into ${table('items')} (id) values ($1)`, params: [101] },
          ],
        }),
      );
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.details).toEqual({ statementIndex: 1 });
      const left = await db.query({ sql: `select id from ${table('items')} where id >= 100` });
      expect(left.rows).toEqual([]);
    });

    it('runs concurrent calls one at a time so their transactions never mix', async () => {
      // Prepare
      const insert = `insert into ${table('items')} (id, label) values ($1, $2)`;
      // Act
      const [failing, passing] = await Promise.allSettled([
        db.execute({
          statements: [
            { sql: insert, params: [200, 'a'] },
            { sql: 'select pg_sleep(0.1)' },
            { sql: insert, params: [200, 'duplicate'] },
          ],
        }),
        // Starts while the first one sleeps inside its transaction.
        new Promise((resolve) => setTimeout(resolve, 30)).then(() =>
          db.execute({ statements: [{ sql: insert, params: [201, 'b'] }] }),
        ),
      ]);
      // Assess
      expect(failing.status).toBe('rejected');
      expect(passing.status).toBe('fulfilled');
      const left = await db.query({ sql: `select id from ${table('items')} where id between 200 and 201` });
      expect(left.rows).toEqual([{ id: 201 }]);
    });
  });

  describe('Method: listTables', () => {
    it('lists user tables of every schema but no system catalog', async () => {
      // Act
      const result = await db.listTables();
      // Assess
      expect(result.tables).toContainEqual({ schema, name: 'items', type: 'table' });
      expect(result.tables.some((t) => t.schema === 'pg_catalog' || t.schema === 'information_schema')).toBe(
        false,
      );
    });
  });

  describe('Method: describeTable', () => {
    it('describes a view and resolves a table through the search path', async () => {
      // Prepare
      await db.query({
        sql: `create view ${table('item_labels')} as select id, label from ${table('items')}`,
      });
      // Act
      const view = await db.describeTable({ schema, table: 'item_labels' });
      const missing = db.describeTable({ table: 'items' });
      // Assess
      expect(view).toMatchObject({ type: 'view', primaryKey: [] });
      expect(view.columns.map((c) => c.name)).toEqual(['id', 'label']);
      await expect(missing).rejects.toThrow(/not found in the current schema/);
    });
  });

  describe('Connection', () => {
    it('reconnects after the server terminated its backend, for a read and for a write', async () => {
      // Prepare
      const before = (await db.query({ sql: 'select pg_backend_pid() as pid' })).rows[0]?.['pid'];
      await withPostgres(url, (admin) => admin.query('select pg_terminate_backend($1)', [before]));
      // Act
      const after = (await db.query({ sql: 'select pg_backend_pid() as pid' })).rows[0]?.['pid'];
      const again = (await db.query({ sql: 'select pg_backend_pid() as pid' })).rows[0]?.['pid'];
      await withPostgres(url, (admin) => admin.query('select pg_terminate_backend($1)', [again]));
      await db.insertRows({ schema, table: 'items', rows: [{ id: 300, label: 'once' }] });
      // Assess
      expect(after).not.toBe(before);
      expect(await count('items')).toBeGreaterThan(0);
      const written = await db.query({
        sql: `select count(*)::int as n from ${table('items')} where id = 300`,
      });
      expect(written.rows).toEqual([{ n: 1 }]);
    });

    it('opens the connection during warm-up and pings through it', async () => {
      // Prepare
      const warm = clientFor(url);
      // Act
      await warm.warmUp();
      const pinged = warm.ping();
      // Assess
      await expect(pinged).resolves.toBeUndefined();
      await warm.close();
      await warm.close();
    });
  });

  describe('Concurrent invocations (Lambda Managed Instances)', () => {
    // On Lambda Managed Instances one warm handler takes several invocations at once and they share the
    // one connection (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html):
    // what one invocation's SQL leaves on the session must not reach the next one's statements.
    it("keeps one invocation's session settings and temporary tables from the invocations after it", async () => {
      // Prepare
      const fresh = await withPostgres(url, (admin) =>
        admin.query("select current_setting('search_path') as p"),
      );
      const session = [
        { sql: `set search_path to ${quote(schema)}` },
        { sql: 'set statement_timeout = 0' },
        { sql: 'set session characteristics as transaction read only' },
        { sql: 'create temp table lmi_scratch (x integer)' },
      ];
      // Act: queued behind the first, the others run on the session it leaves.
      const [changed, seen, inserted] = await Promise.allSettled([
        db.execute({ statements: session }),
        db.query({
          sql:
            "select current_setting('search_path') as p, current_setting('statement_timeout') as t, " +
            "to_regclass('pg_temp.lmi_scratch') is null as no_scratch",
        }),
        db.insertRows({ schema, table: 'items', rows: [{ id: 700, label: 'lmi' }] }),
      ]);
      // Assess
      expect(changed.status).toBe('fulfilled');
      expect(seen).toEqual({
        status: 'fulfilled',
        value: expect.objectContaining({ rows: [{ p: fresh.rows[0].p, t: '15s', no_scratch: true }] }),
      });
      expect(inserted).toEqual({ status: 'fulfilled', value: { inserted: 1, batches: 1 } });
    });

    it('runs a transaction the server terminated midway exactly once, on a new connection', async () => {
      // Prepare: the execute waits for a lock the test holds, inside its transaction after its first insert.
      const insert = `insert into ${table('items')} (id, label) values ($1, $2)`;
      const holder = new pg.Client({ connectionString: url });
      await holder.connect();
      await holder.query('select pg_advisory_lock(7401)');
      // Act
      const running = db.execute({
        statements: [
          { sql: insert, params: [710, 'first'] },
          { sql: 'select pg_advisory_xact_lock(7401)' },
          { sql: insert, params: [711, 'second'] },
        ],
      });
      let settled = false;
      void running.then(
        () => (settled = true),
        () => (settled = true),
      );
      let waiting: unknown;
      while (waiting === undefined && !settled) {
        const found = await holder.query(
          "select pid from pg_locks where locktype = 'advisory' and objid = 7401 and not granted",
        );
        waiting = found.rows[0]?.pid;
      }
      if (waiting !== undefined) await holder.query('select pg_terminate_backend($1)', [waiting]);
      await holder.query('select pg_advisory_unlock(7401)');
      await holder.end();
      const outcome = await running;
      // Assess
      expect(outcome.results.map((result) => result.rowCount)).toEqual([1, 1, 1]);
      const rows = await db.query({
        sql: `select id, label from ${table('items')} where id in (710, 711) order by id`,
      });
      expect(rows.rows).toEqual([
        { id: 710, label: 'first' },
        { id: 711, label: 'second' },
      ]);
    });
  });

  describe('Read-only mode', () => {
    let reader: PostgresClient;
    beforeAll(() => {
      reader = clientFor(url, { readOnly: true });
    });
    afterAll(async () => {
      await reader.close();
    });

    it('reads but refuses a write with ForbiddenError naming read-only mode', async () => {
      // Act
      const read = await reader.query({ sql: `select count(*)::int as n from ${table('items')}` });
      const write = reader.query({ sql: `delete from ${table('items')}` });
      // Assess
      expect(read.rows).toHaveLength(1);
      await expect(write).rejects.toBeInstanceOf(ForbiddenError);
      await expect(write).rejects.toThrow(/read-only mode \(PG_READ_ONLY=true\)/);
      expect(reader.readOnly).toBe(true);
    });

    it('cannot be switched back to writing by a statement', async () => {
      // Prepare
      const before = await count('items');
      // Act
      const switched = await reader
        .execute({
          statements: [{ sql: 'set transaction read write' }, { sql: `delete from ${table('items')}` }],
        })
        .catch((caught: unknown) => caught);
      await reader.query({ sql: 'set default_transaction_read_only = off' });
      const afterSessionChange = await reader
        .query({ sql: `delete from ${table('items')}` })
        .catch((caught: unknown) => caught);
      // Assess
      expect(switched).toBeInstanceOf(ForbiddenError);
      expect(afterSessionChange).toBeInstanceOf(ForbiddenError);
      expect(await count('items')).toBe(before);
    });

    it('refuses insert-rows without a round trip', async () => {
      // Act
      const attempt = reader.insertRows({ schema, table: 'items', rows: [{ id: 400 }] });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
    });
  });
});
