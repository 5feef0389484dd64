import { ANSWER_RESERVE_MS } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../../test/fakes/secrets-manager.ts';
import {
  realMysqlUrl,
  scratchDatabase,
  tick,
  uniqueMysqlName,
  withMysql,
} from '../../../test/peers/mariadb.ts';

type Connector = typeof import('./index.ts')['connector'];
interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const SECRET = 'circle-core/mysql/credentials';
const PASSWORDS = ['first-Pa55word-7d1e', 'rotated-Pa55word-90ab', 'wrong-Pa55word-0000'];
const [FIRST, ROTATED, WRONG] = PASSWORDS as [string, string, string];
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  MYSQL_SECRET: SECRET,
  MYSQL_SSL: 'disable',
  MYSQL_STATEMENT_TIMEOUT_MS: '5000',
  MYSQL_MAX_ROWS: '1000',
};
const SETTINGS = [...Object.keys(ENV), 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'MYSQL_URL', 'MYSQL_IAM_AUTH'];

describe('Function: handler', () => {
  const user = uniqueMysqlName('app');
  const responses: string[] = [];
  let database: { name: string; drop(): Promise<void> };
  let quoted: string;
  let logs: CapturedLogs;
  let sm: SecretsManagerFake;
  let connector: Connector;

  const secretFor = (password: string): string =>
    JSON.stringify({
      username: user,
      password,
      host: '127.0.0.1',
      port: 3306,
      dbname: database.name,
      engine: 'mariadb',
    });
  const setPassword = (password: string): Promise<unknown> =>
    withMysql(async (admin) => {
      for (const host of ['127.0.0.1', 'localhost']) {
        await admin.query(`alter user ${tick(user)}@'${host}' identified by '${password}'`);
      }
    });
  /** Ends the connector's session, as a failover or an idle timeout would. */
  const dropSessions = (): Promise<unknown> =>
    withMysql(async (admin) => {
      const [rows] = await admin.execute('select id from information_schema.processlist where user = ?', [
        user,
      ]);
      for (const row of rows as { id: number }[]) await admin.execute('kill ?', [row.id]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    });

  const http = async (operation: string, body: unknown): Promise<HttpResult> => {
    const event = httpEvent({ path: `/mysql/${operation}`, body });
    const response = (await connector.handler(event, lambdaContext())) as HttpResult;
    responses.push(response.body);
    return response;
  };

  beforeAll(async () => {
    logs = captureLogs();
    database = await scratchDatabase('handler_my');
    quoted = tick(database.name);
    await withMysql(async (admin) => {
      for (const host of ['127.0.0.1', 'localhost']) {
        await admin.query(`create user ${tick(user)}@'${host}' identified by '${FIRST}'`);
        await admin.query(`grant all on ${quoted}.* to ${tick(user)}@'${host}'`);
      }
    });
    sm = await startSecretsManagerFake({});
    sm.set(SECRET, secretFor(FIRST));
    Object.assign(process.env, ENV, { AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint });
    vi.resetModules();
    ({ connector } = await import('./index.ts'));
    await connector.prepare();
  });

  afterAll(async () => {
    logs.restore();
    await (await connector.runtime.client()).close();
    for (const key of SETTINGS) delete process.env[key];
    await withMysql(async (admin) => {
      for (const host of ['127.0.0.1', 'localhost']) await admin.query(`drop user ${tick(user)}@'${host}'`);
    });
    await database.drop();
    await sm.close();
  });

  describe('HTTP trigger', () => {
    it('serves every operation as POST /mysql/<operation> with JSON in and out', async () => {
      // Act
      const created = await http('query', {
        sql: `create table ${quoted}.orders (id integer primary key, item varchar(50) not null, qty integer default 1)`,
      });
      const executed = await http('execute', {
        statements: [
          { sql: `insert into ${quoted}.orders (id, item) values (?, ?)`, params: [1, 'tea'] },
          { sql: `select id, qty from ${quoted}.orders where id = ?`, params: [1] },
        ],
      });
      const inserted = await http('insert-rows', {
        schema: database.name,
        table: 'orders',
        rows: [
          { id: 2, item: 'coffee', qty: 3 },
          { id: 3, item: 'cake', qty: 1 },
        ],
      });
      const queried = await http('query', {
        sql: `select item, qty from ${quoted}.orders where qty >= ? order by id`,
        params: [1],
      });
      const listed = await http('list-tables', { schema: database.name });
      const described = await http('describe-table', { schema: database.name, table: 'orders' });
      // Assess
      expect([created, executed, inserted, queried, listed, described].map((r) => r.statusCode)).toEqual([
        200, 200, 200, 200, 200, 200,
      ]);
      expect(JSON.parse(executed.body)).toEqual({
        results: [
          { rowCount: 1, rows: [], truncated: false },
          { rowCount: 1, rows: [{ id: 1, qty: 1 }], truncated: false },
        ],
      });
      expect(JSON.parse(inserted.body)).toEqual({ inserted: 2, batches: 1 });
      expect(JSON.parse(queried.body)).toEqual({
        rows: [
          { item: 'tea', qty: 1 },
          { item: 'coffee', qty: 3 },
          { item: 'cake', qty: 1 },
        ],
        rowCount: 3,
        fields: [
          { name: 'item', type: 'varchar' },
          { name: 'qty', type: 'int' },
        ],
        truncated: false,
      });
      expect(JSON.parse(listed.body)).toEqual({
        tables: [{ schema: database.name, name: 'orders', type: 'table' }],
      });
      expect(JSON.parse(described.body)).toMatchObject({ name: 'orders', primaryKey: ['id'] });
    });

    it('answers problem+json: 409 for a duplicate key, 404 for a missing table, 400 for bad SQL or input', async () => {
      // Act
      const duplicate = await http('query', {
        sql: `insert into ${quoted}.orders (id, item) values (?, ?)`,
        params: [1, 'again'],
      });
      const missing = await http('query', { sql: `select * from ${quoted}.nowhere` });
      const syntax = await http('query', { sql: 'selec 1' });
      const invalid = await http('query', { params: [1] });
      const control = await http('execute', { statements: [{ sql: 'select 1' }, { sql: 'COMMIT' }] });
      // Assess
      expect([duplicate, missing, syntax, invalid, control].map((r) => r.statusCode)).toEqual([
        409, 404, 400, 400, 400,
      ]);
      expect(duplicate.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(duplicate.body)).toMatchObject({ code: 'conflict' });
      expect(JSON.parse(invalid.body).errors).toEqual([expect.objectContaining({ pointer: '/sql' })]);
      expect(JSON.parse(control.body).errors).toEqual([
        expect.objectContaining({ pointer: '/statements/1/sql' }),
      ]);
    });

    it('serves GET /mysql/health with the provider check and the capabilities', async () => {
      // Act
      const event = httpEvent({ method: 'GET', path: '/mysql/health' });
      const response = (await connector.handler(event, lambdaContext())) as HttpResult;
      // Assess
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({
        connector: 'mysql',
        status: 'ok',
        capabilities: ['transactions', 'bulk-insert', 'read-only'],
        checks: [
          { name: 'config', ok: true },
          { name: 'setup', ok: true },
          { name: 'provider', ok: true },
        ],
      });
    });

    it('cuts a result at MYSQL_MAX_ROWS and answers 413 for one over the 6 MB a response may carry', async () => {
      // Act
      const cut = await http('query', { sql: 'select seq from seq_1_to_5000' });
      const huge = await http('query', { sql: "select repeat('x', 10000) as filler from seq_1_to_1000" });
      // Assess
      expect(JSON.parse(cut.body)).toMatchObject({ rowCount: 5000, truncated: true });
      expect(JSON.parse(cut.body).rows).toHaveLength(1000);
      expect(huge.statusCode).toBe(413);
      expect(JSON.parse(huge.body)).toMatchObject({ code: 'payload_too_large' });
    });
  });

  describe('SQS trigger', () => {
    it('runs each record and reports only the failed one', async () => {
      // Prepare
      const event = sqsEvent([
        {
          messageId: 'good-insert',
          body: {
            operation: 'insert-rows',
            input: { schema: database.name, table: 'orders', rows: [{ id: 10, item: 'queued' }] },
          },
        },
        { messageId: 'bad-sql', body: { operation: 'query', input: { sql: 'selec 1' } } },
        {
          messageId: 'good-execute',
          body: {
            operation: 'execute',
            input: {
              statements: [{ sql: `update ${quoted}.orders set qty = ? where id = ?`, params: [9, 1] }],
            },
          },
        },
      ]);
      // Act
      const response = await connector.handler(event, lambdaContext());
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad-sql' }] });
      const check = await connector.run('query', {
        sql: `select id, qty from ${quoted}.orders where id in (1, 10) order by id`,
      });
      expect(check).toMatchObject({
        rows: [
          { id: 1, qty: 9 },
          { id: 10, qty: 1 },
        ],
      });
    });
  });

  describe('Step Functions task', () => {
    it('returns the output and fails with stable error names, bounded by the time left', async () => {
      // Act
      const output = await connector.handler(
        { operation: 'list-tables', input: { schema: database.name }, trigger: 'task' },
        lambdaContext(),
      );
      const conflict = await connector
        .handler(
          {
            operation: 'insert-rows',
            input: { schema: database.name, table: 'orders', rows: [{ id: 1, item: 'dup' }] },
            trigger: 'task',
          },
          lambdaContext(),
        )
        .catch((error: unknown) => error as Error);
      const late = await connector
        .handler(
          { operation: 'query', input: { sql: 'select sleep(30)' }, trigger: 'task' },
          lambdaContext({ remainingMs: 1_200 }),
        )
        .catch((error: unknown) => error as Error);
      // Assess
      expect(output).toEqual({ tables: [{ schema: database.name, name: 'orders', type: 'table' }] });
      expect(conflict).toMatchObject({ name: 'ConflictError' });
      expect(late).toMatchObject({ name: 'TimeoutError' });
      const bound = Number(/did not finish within (\d+) ms/.exec((late as Error).message)?.[1]);
      expect(bound).toBeGreaterThan(0);
      expect(bound).toBeLessThanOrEqual(1_200 - ANSWER_RESERVE_MS);
      await expect(
        connector.handler(
          { operation: 'query', input: { sql: 'select 1 as one' }, trigger: 'task' },
          lambdaContext(),
        ),
      ).resolves.toMatchObject({ rows: [{ one: 1 }] });
    });
  });

  describe('Secret rotation', () => {
    it('fetches the secret again once when the server refuses the cached password, then succeeds', async () => {
      // Prepare
      const callsBefore = sm.calls.length;
      sm.set(SECRET, secretFor(ROTATED));
      await setPassword(ROTATED);
      await dropSessions();
      // Act
      const response = await http('query', { sql: 'select current_user() as me' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body).rows[0].me).toMatch(new RegExp(`^${user}@`));
      expect(sm.calls.length - callsBefore).toBe(1);
    });

    it('answers 401 when the fetched secret is refused too', async () => {
      // Prepare
      const callsBefore = sm.calls.length;
      sm.set(SECRET, secretFor(WRONG));
      await setPassword(FIRST);
      await dropSessions();
      // Act
      const response = await http('query', { sql: 'select 1 as one' });
      // Assess
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body)).toMatchObject({ code: 'unauthorized' });
      expect(JSON.parse(response.body).detail).toMatch(
        /refused the credentials even after the secret was fetched again/,
      );
      expect(sm.calls.length - callsBefore).toBe(1);
    });

    it('never writes a password to the logs or a response', () => {
      // Assess: the paths that could leak were taken (an invocation line, a refused password).
      const seen = `${logs.text()}\n${responses.join('\n')}`;
      expect(logs.records().some((record) => record['message'] === 'invocation')).toBe(true);
      expect(seen).toContain('refused the credentials');
      for (const password of PASSWORDS) expect(seen).not.toContain(password);
    });
  });

  describe('Configuration', () => {
    it('fails every invocation with a configuration error naming MYSQL_SECRET when no credentials are set', async () => {
      // Prepare
      delete process.env['MYSQL_SECRET'];
      vi.resetModules();
      const { connector: unconfigured } = await import('./index.ts');
      // Act
      const attempt = unconfigured.run('query', { sql: 'select 1' });
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'ConfigurationError' });
      await expect(attempt).rejects.toThrow(/MYSQL_SECRET/);
      process.env['MYSQL_SECRET'] = SECRET;
    });

    it('refuses IAM authentication without TLS', async () => {
      // Prepare
      process.env['MYSQL_IAM_AUTH'] = 'true';
      vi.resetModules();
      const { connector: plain } = await import('./index.ts');
      // Act
      const attempt = plain.run('query', { sql: 'select 1' });
      // Assess
      await expect(attempt).rejects.toThrow(
        /MYSQL_IAM_AUTH is invalid \(RDS IAM authentication .* MYSQL_SSL=verify-full/,
      );
      delete process.env['MYSQL_IAM_AUTH'];
    });

    it('connects with MYSQL_URL for local use, and names MYSQL_SSL when the server has no TLS', async () => {
      // Prepare
      delete process.env['MYSQL_SECRET'];
      process.env['MYSQL_URL'] = realMysqlUrl();
      vi.resetModules();
      const { connector: local } = await import('./index.ts');
      // The machine's server has no TLS; a host name, since verify-full refuses IP addresses.
      process.env['MYSQL_URL'] = realMysqlUrl().replace('127.0.0.1', 'localhost');
      process.env['MYSQL_SSL'] = 'verify-full';
      vi.resetModules();
      const { connector: verifying } = await import('./index.ts');
      // Act
      const output = await local.run('query', { sql: 'select database() as db' });
      const refused = verifying.run('query', { sql: 'select 1' });
      // Assess
      expect(output).toMatchObject({ rows: [{ db: 'test' }] });
      await expect(refused).rejects.toThrow(
        /does not accept TLS; MYSQL_SSL=disable is only meant for local servers/,
      );
      await (await local.runtime.client()).close();
      process.env['MYSQL_SSL'] = 'disable';
      delete process.env['MYSQL_URL'];
      process.env['MYSQL_SECRET'] = SECRET;
    });
  });
});
