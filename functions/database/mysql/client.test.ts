import {
  ANSWER_RESERVE_MS,
  ConflictError,
  type ConnectorError,
  ForbiddenError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from '@circle-core/core';
import mysql from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSqlDatabaseConformance } from '#shared/interfaces/sql-database.conformance.ts';
import { urlCredentials } from '#shared/sql/credentials.ts';
import {
  realMysqlUrl,
  scratchDatabase,
  tick,
  uniqueMysqlName,
  withMysql,
} from '../../../test/peers/mariadb.ts';
import { MYSQL, MysqlClient } from './client.ts';
import type { ConnectionFactory, ConnectionOptions } from './connection.ts';

function clientFor(options: Partial<ConnectionOptions> = {}): MysqlClient {
  return new MysqlClient({
    credentials: urlCredentials(realMysqlUrl(), MYSQL),
    ssl: 'disable',
    statementTimeoutMs: 15_000,
    connectTimeoutMs: 5_000,
    readOnly: false,
    maxRows: 10_000,
    ...options,
  });
}

/** The error a call failed with; fails the test when it succeeded. */
async function failureOf(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (error) {
    return error as ConnectorError;
  }
  throw new Error('expected the call to fail');
}

/** A mysql2 factory that counts the connections it opens and records each statement and its client timeout. */
function recording(): {
  createConnection: ConnectionFactory;
  opened: () => number;
  timeouts: number[];
  statements: string[];
} {
  let opened = 0;
  const timeouts: number[] = [];
  const statements: string[] = [];
  return {
    opened: () => opened,
    timeouts,
    statements,
    createConnection: (options) => {
      opened += 1;
      const connection = mysql.createConnection(options);
      const execute = connection.execute.bind(connection) as (options: { timeout?: number }) => unknown;
      Object.assign(connection, {
        execute: (executeOptions: { timeout?: number; sql?: string }, ...rest: unknown[]) => {
          if (typeof executeOptions.timeout === 'number') timeouts.push(executeOptions.timeout);
          statements.push(executeOptions.sql ?? '');
          return (execute as (...args: unknown[]) => unknown)(executeOptions, ...rest);
        },
      });
      return connection;
    },
  };
}

describeSqlDatabaseConformance('MysqlClient on the real MariaDB server', async () => {
  const scratch = await scratchDatabase('conformance_my');
  const db = clientFor();
  return {
    db,
    schema: scratch.name,
    placeholder: () => '?',
    quote: tick,
    cleanup: async () => {
      await db.close();
      await scratch.drop();
    },
  };
});

describe('Class: MysqlClient (real server)', () => {
  let scratch: { name: string; drop(): Promise<void> };
  let db: MysqlClient;
  const table = (name: string): string => `${tick(scratch.name)}.${tick(name)}`;
  const count = async (name: string): Promise<number> => {
    const [rows] = await withMysql((admin) => admin.query(`select count(*) as n from ${table(name)}`));
    return Number((rows as { n: number }[])[0]?.n);
  };

  beforeAll(async () => {
    scratch = await scratchDatabase('client_my');
    await withMysql((admin) =>
      admin.query(`create table ${table('items')} (id integer primary key, label varchar(100), qty integer)`),
    );
    db = clientFor();
  });

  afterAll(async () => {
    await db.close();
    await scratch.drop();
  });

  describe('Method: insertRows', () => {
    it('inserts 10,000 rows in batched multi-row statements', async () => {
      // Prepare
      await db.query({
        sql: `create table ${table('bulk')} (id integer primary key, label text, qty integer)`,
      });
      const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: i, label: `row ${i}`, qty: i % 7 }));
      // Act
      const result = await db.insertRows({ schema: scratch.name, table: 'bulk', rows });
      // Assess
      expect(result).toEqual({ inserted: 10_000, batches: 10 });
      expect(await count('bulk')).toBe(10_000);
    });

    it('cuts batches by bytes too, and rolls back the earlier batches when a later one fails', async () => {
      // Prepare: 3 rows of 3 MiB each take three statements; the last row repeats a key.
      await db.query({ sql: `create table ${table('wide')} (id integer primary key, body longtext)` });
      const body = 'x'.repeat(3 * 1024 * 1024);
      // Act
      const error = await failureOf(
        db.insertRows({
          schema: scratch.name,
          table: 'wide',
          rows: [
            { id: 1, body },
            { id: 2, body },
            { id: 1, body },
          ],
        }),
      );
      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(error.message).not.toContain('xxx');
      expect(await count('wide')).toBe(0);
    });

    it('fails and inserts nothing when the server would alter a value instead of refusing it', async () => {
      // Prepare: with onConflict ignore, INSERT IGNORE turns a too-long value into a cut one and a warning.
      await db.query({ sql: `create table ${table('short')} (id integer primary key, code varchar(3))` });
      // Act
      const error = await failureOf(
        db.insertRows({
          schema: scratch.name,
          table: 'short',
          rows: [{ id: 1, code: 'toolong' }],
          onConflict: 'ignore',
        }),
      );
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toMatch(/warnings other than duplicates/);
      expect(await count('short')).toBe(0);
    });

    it('throws ValidationError for a row with a column outside columns, naming the row', async () => {
      // Act
      const error = await failureOf(
        db.insertRows({
          schema: scratch.name,
          table: 'items',
          columns: ['id'],
          rows: [{ id: 1, label: 'x' }],
        }),
      );
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toMatch(/Row 0 has a column that is not in columns: `label`/);
    });
  });

  describe('Method: query', () => {
    it('returns dates as text, binary as base64, big integers and decimals as text', async () => {
      // Act
      const result = await db.query({
        sql:
          "select cast('2024-01-02 03:04:05.123456' as datetime(6)) as at, cast('2024-01-02' as date) as day, " +
          'cast(? as binary) as raw, 9007199254740993 as big, cast(1.5 as decimal(5,2)) as price, ' +
          "cast(1 as unsigned) as n, 'é' as text",
        params: ['hi'],
      });
      // Assess
      expect(result.rows).toEqual([
        {
          at: '2024-01-02 03:04:05.123456',
          day: '2024-01-02',
          raw: Buffer.from('hi').toString('base64'),
          big: '9007199254740993',
          price: '1.50',
          n: 1,
          text: 'é',
        },
      ]);
      expect(result.fields.map((field) => field.type)).toEqual([
        'datetime',
        'date',
        'varbinary',
        'bigint',
        'decimal',
        'int unsigned',
        'varchar',
      ]);
    });

    it('answers stored numbers and times without losing or shifting them, whatever the process time zone', async () => {
      // Prepare: a zone west of UTC, where a date read as local midnight UTC would move to the day before.
      const zone = process.env['TZ'];
      process.env['TZ'] = 'America/Los_Angeles';
      await db.query({
        sql:
          `create table ${table('exact')} (u bigint unsigned, s bigint, d65 decimal(65,30), d38 decimal(38,10), ` +
          'f float, g double, day date, dt datetime(6), t time(6), y year, j json)',
      });
      try {
        await db.query({
          sql: `insert into ${table('exact')} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          params: [
            '18446744073709551615',
            '-9223372036854775808',
            '12345678901234567890123456789012345.123456789012345678901234567890',
            '1234567890123456789012345678.0123456789',
            0.1,
            0.1,
            '1000-01-01',
            '9999-12-31 23:59:59.999999',
            '-838:59:59.000001',
            1901,
            '{"id": 9007199254740993, "n": 2}',
          ],
        });
        // Act
        const result = await db.query({ sql: `select * from ${table('exact')}` });
        // Assess
        expect(result.rows).toEqual([
          {
            u: '18446744073709551615',
            s: '-9223372036854775808',
            d65: '12345678901234567890123456789012345.123456789012345678901234567890',
            d38: '1234567890123456789012345678.0123456789',
            f: 0.1,
            g: 0.1,
            day: '1000-01-01',
            dt: '9999-12-31 23:59:59.999999',
            t: '-838:59:59.000001',
            y: 1901,
            j: { id: '9007199254740993', n: 2 },
          },
        ]);
      } finally {
        if (zone === undefined) delete process.env['TZ'];
        else process.env['TZ'] = zone;
      }
    });

    it('refuses an integer parameter beyond 2^53, which JSON has already rounded, naming it', async () => {
      // Act
      const single = await failureOf(db.query({ sql: 'select ?, ?', params: [1, 2 ** 53 + 2] }));
      const nested = await failureOf(
        db.execute({ statements: [{ sql: 'select ?', params: [{ ids: [1, -(2 ** 60)] }] }] }),
      );
      const row = await failureOf(
        db.insertRows({
          table: 'items',
          rows: [
            { id: 1, qty: 1 },
            { id: 2, qty: 2 ** 53 + 2 },
          ],
        }),
      );
      const exact = await db.query({ sql: 'select cast(? as unsigned) as id', params: ['9007199254740993'] });
      // Assess
      expect(single).toBeInstanceOf(ValidationError);
      expect(single.message).toMatch(/beyond 2\^53.*as a string/);
      expect((single as ValidationError).issues).toEqual([
        { pointer: '/params/1', message: expect.stringContaining('as a string') },
      ]);
      expect((nested as ValidationError).issues[0]?.pointer).toBe('/statements/0/params/0/ids/1');
      expect((row as ValidationError).issues[0]?.pointer).toBe('/rows/1/qty');
      expect(exact.rows).toEqual([{ id: '9007199254740993' }]);
    });

    it('names a TIMESTAMP column timestamp, though MariaDB flags it unsigned, and an unsigned integer column so', async () => {
      // Prepare
      await db.query({
        sql: `create table ${table('stamps')} (at timestamp not null default current_timestamp, n int unsigned)`,
      });
      // Act
      const result = await db.query({ sql: `select at, n from ${table('stamps')}` });
      // Assess
      expect(result.fields.map((field) => field.type)).toEqual(['timestamp', 'int unsigned']);
    });

    it('binds objects and arrays as JSON text', async () => {
      // Act
      const result = await db.query({
        sql: "select json_value(?, '$.a[1]') as second",
        params: [{ a: [1, 'two'] }],
      });
      // Assess
      expect(result.rows).toEqual([{ second: 'two' }]);
    });

    it('keeps maxRows rows, counts the rest without keeping them, and flags the result truncated', async () => {
      // Prepare
      const small = clientFor({ maxRows: 5 });
      // Act
      const result = await small.query({ sql: 'select seq from seq_1_to_10' });
      await small.close();
      // Assess
      expect(result.rows).toEqual([1, 2, 3, 4, 5].map((seq) => ({ seq: String(seq) })));
      expect(result).toMatchObject({ rowCount: 10, truncated: true });
    });

    it('throws ValidationError for transaction control and leaves no transaction open', async () => {
      // Act
      const begin = await failureOf(db.query({ sql: '/* leading */ -- note\n START TRANSACTION' }));
      const lock = await failureOf(db.query({ sql: `lock tables ${table('items')} write` }));
      const call = await db.query({ sql: 'select @@in_transaction as open' });
      // Assess
      expect(begin).toBeInstanceOf(ValidationError);
      expect(lock).toBeInstanceOf(ValidationError);
      expect(begin.message).toMatch(/opens and ends transactions itself/);
      expect(call.rows).toEqual([{ open: '0' }]);
    });

    it('refuses a wrong number of parameters with ValidationError, and stays on its connection', async () => {
      // Prepare
      const counted = recording();
      const own = clientFor({ createConnection: counted.createConnection });
      // Act
      const tooFew = await failureOf(own.query({ sql: 'select ? as a, ? as b', params: [1] }));
      const tooMany = await failureOf(own.query({ sql: 'select ? as a', params: [1, 2] }));
      const after = await own.query({ sql: 'select 1 as one' });
      await own.close();
      // Assess
      expect(tooFew).toBeInstanceOf(ValidationError);
      expect(tooMany).toBeInstanceOf(ValidationError);
      expect(tooMany.message).toMatch(/Too many bind parameters/);
      expect(after.rows).toEqual([{ one: 1 }]);
      expect(counted.opened()).toBe(1);
    });

    it('throws TimeoutError when the server interrupts the statement at its timeout, and stays usable', async () => {
      // Prepare
      const counted = recording();
      const quick = clientFor({ statementTimeoutMs: 300, createConnection: counted.createConnection });
      // Act
      const error = await failureOf(quick.query({ sql: 'select sleep(30)' }));
      // Assess: the server's max_statement_time ended it (1969), not the client-side bound behind it.
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.details).toMatchObject({ errno: 1969 });
      expect(counted.timeouts.at(-1)).toBe(300 + 2_000);
      await expect(quick.query({ sql: 'select 1 as one' })).resolves.toMatchObject({ rows: [{ one: 1 }] });
      expect(counted.opened()).toBe(1);
      await quick.close();
    });

    it('bounds the statement by the invocation deadline, then kills it on the server', async () => {
      // Prepare: 1,300 ms left in the invocation, far less than the 15 s statement timeout.
      const counted = recording();
      let remaining = 1_300;
      const bounded = clientFor({
        remainingTimeMs: () => remaining,
        createConnection: counted.createConnection,
      });
      const marker = uniqueMysqlName('deadline');
      // Act
      const error = await failureOf(bounded.query({ sql: `select sleep(60) as ${marker}` }));
      // Assess: the client-side bound is the remaining time less the reserve kept to answer.
      const bound = 1_300 - ANSWER_RESERVE_MS;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toMatch(new RegExp(`did not finish within ${bound} ms`));
      expect(counted.timeouts).toContain(bound);
      // The session was dropped and a second connection sent the KILL for it.
      expect(counted.opened()).toBe(2);
      expect(counted.statements.at(-1)).toBe('kill ?');
      const running = async (): Promise<number> => {
        const [rows] = await withMysql((admin) =>
          admin.execute('select count(*) as n from information_schema.processlist where info like ?', [
            `%${marker}%`,
          ]),
        );
        // The probe is a prepared statement: its text holds a placeholder, not the marker.
        return Number((rows as { n: number }[])[0]?.n);
      };
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
      const counted = recording();
      const late = clientFor({ remainingTimeMs: () => 100, createConnection: counted.createConnection });
      // Act
      const error = await failureOf(late.query({ sql: 'select 1' }));
      // Assess
      expect(error).toBeInstanceOf(TimeoutError);
      expect(counted.opened()).toBe(0);
      await late.close();
    });
  });

  describe('Method: execute', () => {
    it('refuses a batch with a COMMIT or DDL (which MySQL commits implicitly) before running any of it', async () => {
      // Act
      const commit = await failureOf(
        db.execute({
          statements: [
            { sql: `insert into ${table('items')} (id) values (?)`, params: [100] },
            { sql: 'commit' },
          ],
        }),
      );
      const ddl = await failureOf(
        db.execute({
          statements: [
            { sql: `insert into ${table('items')} (id) values (?)`, params: [101] },
            { sql: `create table ${table('mid_batch')} (id int)` },
          ],
        }),
      );
      // Assess
      expect(commit).toBeInstanceOf(ValidationError);
      expect(commit.details).toEqual({ statementIndex: 1 });
      expect(ddl.message).toMatch(/Statement 1 was refused: MySQL commits implicitly around CREATE/);
      const left = await db.query({ sql: `select id from ${table('items')} where id >= 100` });
      expect(left.rows).toEqual([]);
    });

    it('runs concurrent calls one at a time so their transactions never mix', async () => {
      // Prepare
      const insert = `insert into ${table('items')} (id, label) values (?, ?)`;
      // Act
      const [failing, passing] = await Promise.allSettled([
        db.execute({
          statements: [
            { sql: insert, params: [200, 'a'] },
            { sql: 'do sleep(0.1)' },
            { sql: insert, params: [200, 'duplicate'] },
          ],
        }),
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
    it('lists the tables of every database but no system schema, views as views', async () => {
      // Prepare
      await db.query({
        sql: `create view ${table('item_labels')} as select id, label from ${table('items')}`,
      });
      // Act
      const result = await db.listTables();
      // Assess
      expect(result.tables).toContainEqual({ schema: scratch.name, name: 'items', type: 'table' });
      expect(result.tables).toContainEqual({ schema: scratch.name, name: 'item_labels', type: 'view' });
      expect(result.tables.some((t) => ['mysql', 'information_schema'].includes(t.schema))).toBe(false);
    });
  });

  describe('Method: describeTable', () => {
    it('describes a view, a composite primary key in key order, and looks in the current database', async () => {
      // Prepare
      await db.query({
        sql: `create table ${table('pairs')} (a int, b int, note varchar(10) default null, primary key (b, a))`,
      });
      // Act
      const view = await db.describeTable({ schema: scratch.name, table: 'item_labels' });
      const pairs = await db.describeTable({ schema: scratch.name, table: 'pairs' });
      const missing = await failureOf(db.describeTable({ table: 'items' }));
      // Assess
      expect(view).toMatchObject({ type: 'view', primaryKey: [] });
      expect(view.columns.map((c) => c.name)).toEqual(['id', 'label']);
      expect(pairs.primaryKey).toEqual(['b', 'a']);
      expect(pairs.columns[2]).toMatchObject({
        name: 'note',
        nullable: true,
        default: null,
        primaryKey: false,
      });
      expect(missing.message).toMatch(/not found in the current database/);
    });
  });

  describe('Connection', () => {
    /** KILL a session and wait until the server has closed it (the client sees the close just after). */
    const killAndWait = async (id: unknown): Promise<void> => {
      await withMysql(async (admin) => {
        await admin.execute('kill ?', [Number(id)]);
        for (let waited = 0; waited < 5_000; waited += 20) {
          const [rows] = await admin.execute(
            'select count(*) as n from information_schema.processlist where id = ?',
            [Number(id)],
          );
          if (Number((rows as { n: number }[])[0]?.n) === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
    };

    it('reconnects after the server killed its session, for a read and for a write', async () => {
      // Prepare
      const id = async (): Promise<unknown> =>
        (await db.query({ sql: 'select connection_id() as id' })).rows[0]?.['id'];
      const before = await id();
      await killAndWait(before);
      // Act
      const after = await id();
      await killAndWait(after);
      await db.insertRows({ schema: scratch.name, table: 'items', rows: [{ id: 300, label: 'once' }] });
      // Assess
      expect(after).not.toBe(before);
      const written = await db.query({ sql: `select count(*) as n from ${table('items')} where id = 300` });
      expect(written.rows).toEqual([{ n: '1' }]);
    });

    it('answers a transaction whose session was killed midway with a retryable error, having applied none of it', async () => {
      // Prepare: the execute waits for a named lock the test holds, inside its transaction after its first
      // insert; a KILL then ends the session and the server rolls the transaction back
      // (https://mariadb.com/kb/en/kill/). MariaDB just closes the socket, so the connector cannot tell a
      // rolled-back transaction from a lost COMMIT and must not run the write again.
      const insert = `insert into ${table('items')} (id, label) values (?, ?)`;
      const holder = await mysql.createConnection(realMysqlUrl()).promise();
      await holder.query("select get_lock('lmi_7401', 30)");
      const before = (await db.query({ sql: 'select connection_id() as id' })).rows[0]?.['id'];
      // Act
      const running = db.execute({
        statements: [
          { sql: insert, params: [710, 'first'] },
          { sql: "select get_lock('lmi_7401', 30)" },
          { sql: "select release_lock('lmi_7401')" },
          { sql: insert, params: [711, 'second'] },
        ],
      });
      let settled = false;
      void running.then(
        () => (settled = true),
        () => (settled = true),
      );
      let waiting = false;
      while (!waiting && !settled) {
        const [rows] = await holder.query(
          "select count(*) as n from information_schema.processlist where id = ? and info like '%get_lock%'",
          [Number(before)],
        );
        waiting = Number((rows as { n: number }[])[0]?.n) > 0;
      }
      await holder.query('kill ?', [Number(before)]);
      const error = await failureOf(running);
      await holder.query("select release_lock('lmi_7401')");
      // The killed session rolls back before it leaves the process list.
      for (let gone = false; !gone; ) {
        const [rows] = await holder.query(
          'select count(*) as n from information_schema.processlist where id = ?',
          [Number(before)],
        );
        gone = Number((rows as { n: number }[])[0]?.n) === 0;
      }
      await holder.end();
      const after = (await db.query({ sql: 'select connection_id() as id' })).rows[0]?.['id'];
      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/connection to MySQL failed \(PROTOCOL_CONNECTION_LOST\)/);
      expect(after).not.toBe(before);
      const rows = await db.query({ sql: `select id from ${table('items')} where id in (710, 711)` });
      expect(rows.rows).toEqual([]);
    });

    it('opens the connection during warm-up and pings through it', async () => {
      // Prepare
      const counted = recording();
      const warm = clientFor({ createConnection: counted.createConnection });
      // Act
      await warm.warmUp();
      await warm.ping();
      // Assess
      expect(counted.opened()).toBe(1);
      await warm.close();
      await warm.close();
    });
  });

  describe('Read-only mode', () => {
    let reader: MysqlClient;
    beforeAll(() => {
      reader = clientFor({ readOnly: true });
    });
    afterAll(async () => {
      await reader.close();
    });

    it('reads but refuses a write with ForbiddenError naming read-only mode', async () => {
      // Act
      const read = await reader.query({ sql: `select count(*) as n from ${table('items')}` });
      const write = await failureOf(reader.query({ sql: `delete from ${table('items')}` }));
      // Assess
      expect(read.rows).toHaveLength(1);
      expect(write).toBeInstanceOf(ForbiddenError);
      expect(write.message).toMatch(/read-only mode \(MYSQL_READ_ONLY=true\)/);
    });

    it('cannot be switched back to writing by a statement, nor escape through DDL', async () => {
      // Prepare
      const before = await count('items');
      // Act
      const switched = await failureOf(
        reader.execute({
          statements: [{ sql: 'set transaction read write' }, { sql: `delete from ${table('items')}` }],
        }),
      );
      await reader.query({ sql: 'set session transaction read write' });
      const afterSessionChange = await failureOf(reader.query({ sql: `delete from ${table('items')}` }));
      const ddl = await failureOf(reader.query({ sql: `drop table ${table('items')}` }));
      // Assess
      expect(switched).toBeInstanceOf(ForbiddenError);
      expect(afterSessionChange).toBeInstanceOf(ForbiddenError);
      expect(ddl).toBeInstanceOf(ValidationError);
      expect(await count('items')).toBe(before);
    });

    it('refuses insert-rows without a round trip', async () => {
      // Act
      const attempt = reader.insertRows({ schema: scratch.name, table: 'items', rows: [{ id: 400 }] });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
    });
  });

  describe('Concurrent invocations (Lambda Managed Instances)', () => {
    // On LMI several invocations share the container's one connection: what A's SQL changes on the
    // session must be gone when B's call runs after it on that connection.
    it("does not let one call's session changes reach the next call on the shared connection", async () => {
      // Prepare
      const shared = clientFor();
      const lock = uniqueMysqlName('lmi_lock');
      try {
        await shared.query({ sql: 'select 1 as one' });
        // Act: A's calls are queued first, B's behind them on the same connection.
        const [, , , , , , b] = await Promise.all([
          shared.query({ sql: 'set session transaction read only' }),
          shared.query({ sql: 'set @lmi = 42' }),
          shared.query({ sql: 'create temporary table lmi_a (x int)' }),
          shared.query({ sql: "set session time_zone = '+05:00'" }),
          shared.execute({ statements: [{ sql: 'set session max_statement_time = 0' }] }),
          shared.query({ sql: 'select get_lock(?, 0) as got', params: [lock] }),
          (async () => {
            // Fails while A's read-only setting or A's temporary table of that name is still there.
            await shared.query({ sql: 'create temporary table lmi_a (x int)' });
            const seen = await shared.query({
              sql: `select @lmi as lmi, @@session.time_zone = @@global.time_zone as zone,
                @@session.max_statement_time as timeout, is_used_lock(?) is null as unlocked`,
              params: [lock],
            });
            const again = await shared.query({ sql: 'select 1 as one' });
            return { seen: seen.rows[0], again: again.rows[0] };
          })(),
        ]);
        // Assess
        expect(b.seen).toEqual({ lmi: null, zone: 1, timeout: 15, unlocked: 1 });
        expect(b.again).toEqual({ one: 1 });
      } finally {
        await shared.close();
      }
    });

    it('answers the call but drops the connection when the session reset fails, so nothing it left is reused', async () => {
      // Prepare: the server refuses COM_RESET_CONNECTION (as one older than MySQL 5.7.3 / MariaDB 10.2.4 would).
      const recorder = recording();
      const refusing: ConnectionFactory = (options) => {
        const connection = recorder.createConnection(options);
        Object.assign(connection, {
          reset: (callback: (error: Error | null) => void) => callback(new Error('Unknown command')),
        });
        return connection;
      };
      const shared = clientFor({ createConnection: refusing });
      try {
        // Act
        const [a, b] = await Promise.all([
          shared.query({ sql: 'set @lmi = 42' }),
          shared.query({ sql: 'select @lmi as lmi' }),
        ]);
        // Assess
        expect(a.rowCount).toBe(0);
        expect(b.rows).toEqual([{ lmi: null }]);
        expect(recorder.opened()).toBe(2);
      } finally {
        await shared.close();
      }
    });

    it('keeps read-only mode and the statement timeout after resetting a session a call changed', async () => {
      // Prepare
      const reader = clientFor({ readOnly: true });
      try {
        // Act
        const [, , write, timeout] = await Promise.all([
          reader.query({ sql: 'set session transaction read write' }),
          reader.execute({ statements: [{ sql: 'set session max_statement_time = 0' }] }),
          failureOf(reader.query({ sql: `delete from ${table('items')}` })),
          reader.query({
            sql: 'select @@session.max_statement_time as timeout, @@session.tx_read_only = 1 as ro',
          }),
        ]);
        // Assess
        expect(write).toBeInstanceOf(ForbiddenError);
        expect(timeout.rows[0]).toEqual({ timeout: 15, ro: 1 });
      } finally {
        await reader.close();
      }
    });
  });
});
