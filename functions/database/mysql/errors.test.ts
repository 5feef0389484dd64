import {
  AuthError,
  ConfigurationError,
  ConflictError,
  type ConnectorError,
  ForbiddenError,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlCredentials } from '#shared/sql/credentials.ts';
import { StatementFailure } from '#shared/sql/errors.ts';
import {
  type CuttingProxy,
  realMysqlUrl,
  scratchDatabase,
  startCuttingProxy,
  tick,
  uniqueMysqlName,
  withMysql,
} from '../../../test/peers/mariadb.ts';
import { MYSQL, MysqlClient } from './client.ts';
import type { ConnectionOptions } from './connection.ts';
import { isAuthFailure, isConnectionLost, toMysqlError, wasUndone } from './errors.ts';

const LEAK = 'value-that-must-not-leak-5e5e';

function clientFor(url: string, options: Partial<ConnectionOptions> = {}): MysqlClient {
  return new MysqlClient({
    credentials: urlCredentials(url, MYSQL),
    ssl: 'disable',
    statementTimeoutMs: 15_000,
    connectTimeoutMs: 5_000,
    readOnly: false,
    maxRows: 10_000,
    ...options,
  });
}

async function failureOf(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise;
  } catch (error) {
    return error as ConnectorError;
  }
  throw new Error('expected the call to fail');
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Error table against the real MariaDB server', () => {
  let scratch: { name: string; drop(): Promise<void> };
  let db: MysqlClient;
  const table = (name: string): string => `${tick(scratch.name)}.${tick(name)}`;

  beforeAll(async () => {
    scratch = await scratchDatabase('errors_my');
    await withMysql(async (admin) => {
      await admin.query(`create table ${table('parents')} (id int primary key, v int default 0)`);
      await admin.query(
        `create table ${table('kids')} (id int primary key, parent int not null, code varchar(3), ` +
          `qty int check (qty >= 0), kind enum('a', 'b'), foreign key (parent) references ${table('parents')} (id))`,
      );
      await admin.query(`insert into ${table('parents')} (id) values (1), (2), (3), (4), (5)`);
      await admin.query(`insert into ${table('kids')} (id, parent) values (1, 1)`);
    });
    db = clientFor(realMysqlUrl());
  });

  afterAll(async () => {
    await db.close();
    await scratch.drop();
  });

  it.each([
    ['a duplicate key', 'insert into T(kids) (id, parent) values (?, 1)', [1], ConflictError, 1062],
    ['a missing table', 'select * from T(nowhere) where id = ?', [LEAK], NotFoundError, 1146],
    ['a syntax error', 'selec ?', [LEAK], ValidationError, 1064],
    ['an unknown column', 'select nope from T(kids) where id = ?', [LEAK], ValidationError, 1054],
    [
      'a value of the wrong type',
      'insert into T(kids) (id, parent) values (?, 1)',
      [LEAK],
      ValidationError,
      1366,
    ],
    [
      'a value too long',
      'insert into T(kids) (id, parent, code) values (2, 1, ?)',
      [LEAK],
      ValidationError,
      1406,
    ],
    [
      'a NULL in a NOT NULL column',
      'insert into T(kids) (id, parent) values (3, ?)',
      [null],
      ValidationError,
      1048,
    ],
    ['a broken foreign key', 'insert into T(kids) (id, parent) values (4, ?)', [999], ValidationError, 1452],
    [
      'a broken check constraint',
      'insert into T(kids) (id, parent, qty) values (5, 1, ?)',
      [-1],
      ValidationError,
      4025,
    ],
    ["a routine's SIGNAL", `signal sqlstate '45000' set message_text = '${LEAK}'`, [], ValidationError, 1644],
    // SQLSTATE HY000: the class says nothing, so these need their own rows.
    [
      'a NOT NULL column without a default left out',
      'insert into T(kids) (id) values (?)',
      [6],
      ValidationError,
      1364,
    ],
    [
      'a value not in an ENUM',
      'insert into T(kids) (id, parent, kind) values (7, 1, ?)',
      [LEAK],
      ValidationError,
      1265,
    ],
  ] as const)('maps %s to its class without echoing a value', async (_what, sql, params, type, errno) => {
    // Act
    const error = await failureOf(
      db.query({
        sql: sql.replace(/T\((\w+)\)/g, (_match, name: string) => table(name)),
        params: [...params],
      }),
    );
    // Assess
    expect(error).toBeInstanceOf(type);
    expect(error.details).toMatchObject({ errno });
    expect(`${error.message} ${JSON.stringify(error.details)}`).not.toContain(LEAK);
    expect(error.cause).toBeUndefined();
  });

  it('names the duplicate key but not the duplicate value', async () => {
    // Act
    const error = await failureOf(
      db.query({ sql: `insert into ${table('parents')} (id) values (?)`, params: [1] }),
    );
    // Assess
    expect(error.message).toBe("Duplicate entry for key 'PRIMARY' (errno 1062, SQLSTATE 23000)");
  });

  it('maps a lock wait timeout to a retryable UnavailableError and rolls the transaction back', async () => {
    // Prepare: another session holds the row.
    await withMysql(async (holder) => {
      await holder.query('start transaction');
      await holder.query(`select * from ${table('parents')} where id = 1 for update`);
      // Act (a session setting would not outlive its call: the session is reset after it)
      const error = await failureOf(
        db.execute({
          statements: [
            {
              sql: `set statement innodb_lock_wait_timeout = 1 for update ${table('parents')} set v = 1 where id = ?`,
              params: [1],
            },
          ],
        }),
      );
      await holder.query('rollback');
      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.retryable).toBe(true);
      expect(error.details).toMatchObject({ errno: 1205, statementIndex: 0 });
    });
  });

  it('maps a deadlock it lost to a retryable UnavailableError naming the statement', async () => {
    // Prepare: the connector's transaction closes the cycle, and the other one has changed more rows.
    await withMysql(async (other) => {
      const attempt = failureOf(
        db.execute({
          statements: [
            { sql: `update ${table('parents')} set v = v + 1 where id = ?`, params: [2] },
            { sql: 'do sleep(0.6)' },
            { sql: `update ${table('parents')} set v = v + 1 where id = ?`, params: [1] },
          ],
        }),
      );
      await pause(200);
      await other.query('start transaction');
      await other.query(`update ${table('parents')} set v = v + 1 where id in (1, 3, 4, 5)`);
      const waiting = other.query(`update ${table('parents')} set v = v + 1 where id = 2`);
      // Act
      const error = await attempt;
      await waiting;
      await other.query('commit');
      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.details).toMatchObject({ errno: 1213, statementIndex: 2 });
      expect(error.message).toMatch(/^Statement 2 failed: Deadlock found/);
    });
  });

  describe('Accounts', () => {
    const user = uniqueMysqlName('lim');
    const password = `Pw-${uniqueMysqlName('x')}`;
    beforeAll(async () => {
      await withMysql(async (admin) => {
        await admin.query(`create user ${tick(user)}@'127.0.0.1' identified by '${password}'`);
        await admin.query(`create user ${tick(user)}@'localhost' identified by '${password}'`);
      });
    });
    afterAll(async () => {
      await withMysql(async (admin) => {
        await admin.query(`drop user ${tick(user)}@'127.0.0.1'`);
        await admin.query(`drop user ${tick(user)}@'localhost'`);
      });
    });

    it('maps a table the user may not read to ForbiddenError', async () => {
      // Prepare
      const limited = clientFor(`mysql://${user}:${password}@127.0.0.1:3306/`);
      // Act
      const error = await failureOf(limited.query({ sql: `select * from ${table('kids')}` }));
      await limited.close();
      // Assess
      expect(error).toBeInstanceOf(ForbiddenError);
      expect(error.details).toMatchObject({ errno: 1142 });
    });

    it('maps a refused password to AuthError without the password, and tries only once when it cannot rotate', async () => {
      // Prepare
      const proxy = await startCuttingProxy();
      const wrong = clientFor(proxy.url.replace('root@', `${user}:wrong-${password}@`).replace('/test', '/'));
      // Act
      const error = await failureOf(wrong.query({ sql: 'select 1' }));
      await wrong.close();
      await proxy.close();
      // Assess
      expect(error).toBeInstanceOf(AuthError);
      expect(error.message).toBe(
        'MySQL refused the credentials (access denied) (errno 1045, SQLSTATE 28000)',
      );
      expect(proxy.accepted()).toBe(1);
    });
  });

  describe('Lost connections', () => {
    let proxy: CuttingProxy;
    beforeAll(async () => {
      proxy = await startCuttingProxy();
    });
    afterAll(async () => {
      await proxy.close();
    });

    it('answers a write whose connection dropped with a retryable UnavailableError, not running it twice, then reconnects', async () => {
      // Prepare
      const writer = clientFor(proxy.url);
      await writer.query({ sql: 'select 1' });
      // Act
      const attempt = failureOf(
        writer.execute({
          statements: [
            { sql: `insert into ${table('parents')} (id) values (?)`, params: [100] },
            { sql: 'do sleep(1)' },
          ],
        }),
      );
      await pause(200);
      proxy.cut();
      const error = await attempt;
      const next = await writer.query({ sql: 'select 2 as two' });
      await writer.close();
      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toMatch(/connection to MySQL failed/);
      expect(next.rows).toEqual([{ two: 2 }]);
      const rows = await db.query({ sql: `select id from ${table('parents')} where id = 100` });
      expect(rows.rows).toEqual([]);
    });

    it('runs a read again on a new connection when the connection dropped under it in read-only mode', async () => {
      // Prepare
      const reader = clientFor(proxy.url, { readOnly: true });
      await reader.query({ sql: 'select 1' });
      const before = proxy.accepted();
      // Act
      const attempt = reader.query({ sql: 'select sleep(0.5) as slept' });
      await pause(150);
      proxy.cut();
      const result = await attempt;
      await reader.close();
      // Assess
      expect(result.rows).toEqual([{ slept: 0 }]);
      expect(proxy.accepted()).toBe(before + 1);
    });

    it('answers 503 when the server killed the session mid-transaction, which it rolled back, then reconnects', async () => {
      // Prepare
      const id = Number((await db.query({ sql: 'select connection_id() as id' })).rows[0]?.['id']);
      // Act
      const attempt = failureOf(
        db.execute({
          statements: [
            { sql: `insert into ${table('parents')} (id) values (?)`, params: [200] },
            { sql: 'do sleep(1)' },
          ],
        }),
      );
      await pause(300);
      await withMysql((admin) => admin.execute('kill ?', [id]));
      const error = await attempt;
      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      const rows = await db.query({ sql: `select id from ${table('parents')} where id = 200` });
      expect(rows.rows).toEqual([]);
    });
  });
});

describe('Function: toMysqlError (driver failures)', () => {
  const context = { readOnly: false };
  const withCode = (message: string, code: string, extra: Record<string, unknown> = {}): Error =>
    Object.assign(new Error(message), { code, ...extra });

  it('maps TLS, connect, socket and bind failures, and hides anything else', () => {
    // Act
    const untrusted = toMysqlError(withCode('self-signed', 'DEPTH_ZERO_SELF_SIGNED_CERT'), context);
    const mismatch = toMysqlError(
      withCode('altname', 'ERR_TLS_CERT_ALTNAME_INVALID', { host: 'db.example' }),
      context,
    );
    const expired = toMysqlError(withCode('expired', 'CERT_HAS_EXPIRED'), context);
    const plain = toMysqlError(
      withCode('Server does not support secure connection', 'HANDSHAKE_NO_SSL_SUPPORT'),
      context,
    );
    const slow = toMysqlError(withCode('connect ETIMEDOUT', 'ETIMEDOUT'), context);
    const reset = toMysqlError(withCode('read ECONNRESET', 'ECONNRESET'), {
      readOnly: false,
      statementIndex: 2,
    });
    const refused = toMysqlError(
      withCode('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED', {
        errno: -111,
        syscall: 'connect',
        fatal: true,
      }),
      context,
    );
    const bind = toMysqlError(
      new RangeError('Too many bind parameters: expected at most 1, received 2'),
      context,
    );
    const other = toMysqlError('something odd', context);
    // mysql2 replaces Node's code with its own: the kind is read from OpenSSL's message.
    const wrapped = (message: string): Error => withCode(message, 'HANDSHAKE_SSL_ERROR', { fatal: true });
    const wrappedExpired = toMysqlError(wrapped('certificate has expired'), context);
    const wrappedMismatch = toMysqlError(
      wrapped(
        "Hostname/IP does not match certificate's altnames: Host: db.example. is not in the cert's altnames: DNS:x",
      ),
      context,
    );
    const wrappedOther = toMysqlError(wrapped('wrong version number'), context);
    // Assess
    expect(untrusted).toBeInstanceOf(ConfigurationError);
    expect(untrusted.message).toMatch(/not trusted.*NODE_EXTRA_CA_CERTS/);
    expect(mismatch.message).toMatch(/host name mismatch.*"db\.example".*MYSQL_HOST/);
    expect(expired.message).toMatch(/expired/);
    expect(plain.message).toMatch(/does not accept TLS; MYSQL_SSL=disable/);
    expect(slow).toBeInstanceOf(TimeoutError);
    expect(reset).toBeInstanceOf(UnavailableError);
    expect(reset.details).toEqual({ statementIndex: 2 });
    expect(refused).toBeInstanceOf(UnavailableError);
    expect(refused.message).toBe('The connection to MySQL failed (ECONNREFUSED)');
    expect(bind).toBeInstanceOf(ValidationError);
    expect(other.message).toBe('Internal error');
    expect(wrappedExpired.message).toMatch(/has expired/);
    expect(wrappedMismatch.message).toMatch(/host name mismatch.*"db\.example"/);
    expect(wrappedOther).toBeInstanceOf(UnavailableError);
    expect(other.expose).toBe(false);
  });

  it('cuts quoted values from messages of numbers it does not know, and uses the SQLSTATE class', () => {
    // Prepare
    const server = (errno: number, sqlState: string, sqlMessage: string): Error =>
      Object.assign(new Error(sqlMessage), { errno, sqlState, sqlMessage });
    // Act
    const unknown = toMysqlError(
      server(1292, '22007', `Truncated incorrect DOUBLE value: '${LEAK}'`),
      context,
    );
    const internal = toMysqlError(server(1105, 'HY000', `Unknown error with '${LEAK}'`), context);
    const readOnly = toMysqlError(
      server(1792, '25006', 'Cannot execute statement in a READ ONLY transaction'),
      {
        readOnly: true,
        statementIndex: 0,
      },
    );
    // Assess
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown.message).toBe("Truncated incorrect DOUBLE value: '…' (errno 1292, SQLSTATE 22007)");
    expect(internal.status).toBe(500);
    expect(internal.message).not.toContain(LEAK);
    expect(readOnly).toBeInstanceOf(ForbiddenError);
    expect(readOnly.message).toMatch(/^Statement 0 failed: The connector is in read-only mode/);
  });

  it.each([
    [1364, "Field 'parent' doesn't have a default value"],
    [1366, `Incorrect integer value: '${LEAK}' for column 'parent' at row 1`],
    [3819, "Check constraint 'kids_chk_1' is violated."],
    [1265, "Data truncated for column 'kind' at row 1"],
    [1411, `Incorrect datetime value: '${LEAK}' for function str_to_date`],
    [
      1175,
      'You are using safe update mode and you tried to update a table without a WHERE that uses a KEY column.',
    ],
    [1093, "You can't specify target table 'kids' for update in FROM clause"],
    [
      1267,
      "Illegal mix of collations (utf8mb4_bin,IMPLICIT) and (latin1_swedish_ci,COERCIBLE) for operation '='",
    ],
  ])('maps the caller mistake %i that MySQL 8 reports as SQLSTATE HY000 to a 400', (errno, sqlMessage) => {
    // Act
    const error = toMysqlError(
      Object.assign(new Error(sqlMessage), { errno, sqlState: 'HY000', sqlMessage }),
      context,
    );
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(new RegExp(`\\(errno ${errno}, SQLSTATE HY000\\)$`));
    expect(error.message).not.toContain(LEAK);
  });

  it('passes connector errors through, and sees through a statement failure in the helpers', () => {
    // Prepare
    const own = new NotFoundError('kept');
    const killed = Object.assign(new Error('Connection was killed'), { errno: 1927, sqlState: '70100' });
    // Act & Assess
    expect(toMysqlError(own, context)).toBe(own);
    expect(isConnectionLost(killed)).toBe(true);
    expect(wasUndone(killed)).toBe(true);
    expect(isAuthFailure(Object.assign(new Error('denied'), { errno: 1045 }))).toBe(true);
    expect(isConnectionLost(new StatementFailure(0, killed))).toBe(false);
    expect(isConnectionLost(Object.assign(new Error('x'), { fatal: true }))).toBe(true);
    expect(isConnectionLost(Object.assign(new Error('denied'), { errno: 1045, fatal: true }))).toBe(false);
    expect(isConnectionLost('text')).toBe(false);
  });
});
