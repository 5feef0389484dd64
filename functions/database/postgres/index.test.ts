import { ANSWER_RESERVE_MS } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../../test/fakes/secrets-manager.ts';
import {
  type PasswordGate,
  realPostgresUrl,
  startPasswordGate,
  uniqueName,
  withPostgres,
} from '../../../test/peers/postgres.ts';

type Connector = typeof import('./index.ts')['connector'];
interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const SECRET = 'circle-core/postgres/credentials';
const PASSWORDS = [
  'first-Pa55word-7d1e',
  'rotated-Pa55word-90ab',
  'third-Pa55word-c3c3',
  'wrong-Pa55word-0000',
];
const [FIRST, ROTATED, THIRD, WRONG] = PASSWORDS as [string, string, string, string];
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  PG_SECRET: SECRET,
  PG_SSL: 'disable',
  PG_STATEMENT_TIMEOUT_MS: '5000',
};

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Function: handler', () => {
  const url = realPostgresUrl();
  const schema = uniqueName('handler_pg');
  const quoted = pg.escapeIdentifier(schema);
  const responses: string[] = [];
  let logs: CapturedLogs;
  let sm: SecretsManagerFake;
  let gate: PasswordGate;
  let connector: Connector;

  const secretFor = (password: string): string =>
    JSON.stringify({
      username: 'postgres',
      password,
      host: gate.host,
      port: gate.port,
      dbname: 'test',
      engine: 'postgres',
    });

  const http = async (operation: string, body: unknown): Promise<HttpResult> => {
    const event = httpEvent({ path: `/postgres/${operation}`, body });
    const response = (await connector.handler(event, lambdaContext())) as HttpResult;
    responses.push(response.body);
    return response;
  };

  beforeAll(async () => {
    logs = captureLogs();
    gate = await startPasswordGate({ upstream: url, password: FIRST });
    sm = await startSecretsManagerFake({});
    sm.set(SECRET, secretFor(FIRST));
    Object.assign(process.env, ENV, { AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint });
    await withPostgres(url, (admin) => admin.query(`create schema ${quoted}`));
    vi.resetModules();
    ({ connector } = await import('./index.ts'));
    await connector.prepare();
  });

  afterAll(async () => {
    logs.restore();
    await (await connector.runtime.client()).close();
    for (const key of [...Object.keys(ENV), 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'PG_URL'])
      delete process.env[key];
    await withPostgres(url, (admin) => admin.query(`drop schema ${quoted} cascade`));
    await gate.close();
    await sm.close();
  });

  describe('HTTP trigger', () => {
    it('serves every operation as POST /postgres/<operation> with JSON in and out', async () => {
      // Act
      const executed = await http('execute', {
        statements: [
          {
            sql: `create table ${quoted}.orders (id integer primary key, item text not null, qty integer default 1)`,
          },
          {
            sql: `insert into ${quoted}.orders (id, item) values ($1, $2) returning id, qty`,
            params: [1, 'tea'],
          },
        ],
      });
      const inserted = await http('insert-rows', {
        schema,
        table: 'orders',
        rows: [
          { id: 2, item: 'coffee', qty: 3 },
          { id: 3, item: 'cake', qty: 1 },
        ],
      });
      const queried = await http('query', {
        sql: `select item, qty from ${quoted}.orders where qty >= $1 order by id`,
        params: [1],
      });
      const listed = await http('list-tables', { schema });
      const described = await http('describe-table', { schema, table: 'orders' });
      // Assess
      expect(JSON.parse(executed.body)).toEqual({
        results: [
          { rowCount: null, rows: [], truncated: false },
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
          { name: 'item', type: 'text' },
          { name: 'qty', type: 'integer' },
        ],
        truncated: false,
      });
      expect(JSON.parse(listed.body)).toEqual({ tables: [{ schema, name: 'orders', type: 'table' }] });
      expect(JSON.parse(described.body)).toMatchObject({ name: 'orders', primaryKey: ['id'] });
      expect([executed, inserted, queried, listed, described].map((r) => r.statusCode)).toEqual([
        200, 200, 200, 200, 200,
      ]);
    });

    it('answers problem+json: 409 for a duplicate key, 404 for a missing table, 400 for bad SQL or input', async () => {
      // Act
      const duplicate = await http('query', {
        sql: `insert into ${quoted}.orders (id, item) values ($1, $2)`,
        params: [1, 'again'],
      });
      const missing = await http('query', { sql: `select * from ${quoted}.nowhere` });
      const syntax = await http('query', { sql: 'selec 1' });
      const invalid = await http('query', { params: [1] });
      // Assess
      expect([duplicate, missing, syntax, invalid].map((r) => r.statusCode)).toEqual([409, 404, 400, 400]);
      expect(duplicate.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(duplicate.body)).toMatchObject({ code: 'conflict' });
      expect(JSON.parse(invalid.body).errors).toEqual([expect.objectContaining({ pointer: '/sql' })]);
    });

    it('serves GET /postgres/health with the provider check', async () => {
      // Act
      const event = httpEvent({ method: 'GET', path: '/postgres/health' });
      const response = (await connector.handler(event, lambdaContext())) as HttpResult;
      // Assess
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({
        connector: 'postgres',
        status: 'ok',
        capabilities: ['transactions', 'bulk-insert', 'read-only'],
        checks: [
          { name: 'config', ok: true },
          { name: 'setup', ok: true },
          { name: 'provider', ok: true },
        ],
      });
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
            input: { schema, table: 'orders', rows: [{ id: 10, item: 'queued' }] },
          },
        },
        { messageId: 'bad-sql', body: { operation: 'query', input: { sql: 'selec 1' } } },
        {
          messageId: 'good-execute',
          body: {
            operation: 'execute',
            input: {
              statements: [{ sql: `update ${quoted}.orders set qty = $1 where id = $2`, params: [9, 1] }],
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
    it('returns the output and fails with stable error names', async () => {
      // Act
      const output = await connector.handler(
        { operation: 'list-tables', input: { schema }, trigger: 'task' },
        lambdaContext(),
      );
      const conflict = connector.handler(
        {
          operation: 'insert-rows',
          input: { schema, table: 'orders', rows: [{ id: 1, item: 'dup' }] },
          trigger: 'task',
        },
        lambdaContext(),
      );
      await expect(conflict).rejects.toMatchObject({ name: 'ConflictError' });
      const late = await connector
        .handler(
          { operation: 'query', input: { sql: 'select pg_sleep(30)' }, trigger: 'task' },
          lambdaContext({ remainingMs: 1_200 }),
        )
        .catch((error: unknown) => error as Error);
      // Assess
      expect(output).toEqual({ tables: [{ schema, name: 'orders', type: 'table' }] });
      expect(late).toMatchObject({ name: 'TimeoutError' });
      // The bound handed to the statement: what the context had left less the reserve kept to answer.
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

  describe('Caller mistakes in the SQL', () => {
    it('answers 400, fails a queue record and a task as not retryable, and opens no connection', async () => {
      // Prepare
      const connectionsBefore = gate.attempts.length;
      const poisonBefore = logs.records().filter((r) => r['message'] === 'Poison record, left for the DLQ');
      // Act
      const missing = await http('query', { sql: 'select $1::int' });
      const nul = await http('query', { sql: 'select 1\u0000' });
      const nulParam = await http('execute', {
        statements: [{ sql: 'select $1::text', params: ['secret\u0000value'] }],
      });
      const queued = await connector.handler(
        sqsEvent([
          {
            messageId: 'count-mismatch',
            body: { operation: 'query', input: { sql: 'select 1', params: [1] } },
          },
        ]),
        lambdaContext(),
      );
      const task = await connector
        .handler(
          { operation: 'query', input: { sql: 'select $2::int', params: [1] }, trigger: 'task' },
          lambdaContext(),
        )
        .catch((error: unknown) => error);
      // Assess
      expect([missing, nul, nulParam].map((r) => r.statusCode)).toEqual([400, 400, 400]);
      expect(JSON.parse(missing.body)).toMatchObject({
        code: 'validation_error',
        detail: expect.stringMatching(/placeholders up to \$1, so \/params must hold 1 value/),
        errors: [expect.objectContaining({ pointer: '/params' })],
      });
      expect(JSON.parse(nul.body).errors).toEqual([expect.objectContaining({ pointer: '/sql' })]);
      expect(JSON.parse(nulParam.body).errors).toEqual([
        expect.objectContaining({ pointer: '/statements/0/params/0' }),
      ]);
      expect(nulParam.body).not.toContain('secret');
      expect(queued).toEqual({ batchItemFailures: [{ itemIdentifier: 'count-mismatch' }] });
      const poison = logs.records().filter((r) => r['message'] === 'Poison record, left for the DLQ');
      expect(poison.length - poisonBefore.length).toBe(1);
      expect(task).toMatchObject({ name: 'ValidationError' });
      expect(gate.attempts.length).toBe(connectionsBefore);
    });
  });

  describe('Secret rotation', () => {
    it('fetches the secret again once when the server refuses the cached password, then succeeds', async () => {
      // Prepare
      const callsBefore = sm.calls.length;
      sm.set(SECRET, secretFor(ROTATED));
      gate.setPassword(ROTATED);
      gate.dropConnections();
      await pause(50);
      // Act
      const response = await http('query', { sql: 'select 1 as one' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(sm.calls.length - callsBefore).toBe(1);
      expect(gate.attempts.slice(-2)).toEqual([FIRST, ROTATED]);
    });

    it('answers 401 when the fetched secret is refused too', async () => {
      // Prepare
      const callsBefore = sm.calls.length;
      sm.set(SECRET, secretFor(WRONG));
      gate.setPassword(THIRD);
      gate.dropConnections();
      await pause(50);
      // Act
      const response = await http('query', { sql: 'select 1 as one' });
      // Assess
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body)).toMatchObject({ code: 'unauthorized' });
      expect(JSON.parse(response.body).detail).toMatch(
        /refused the credentials even after the secret was fetched again/,
      );
      expect(sm.calls.length - callsBefore).toBe(1);
      expect(gate.attempts.slice(-2)).toEqual([ROTATED, WRONG]);
    });

    it('never writes a password to the logs or a response', () => {
      // Assess
      const seen = `${logs.text()}\n${responses.join('\n')}`;
      expect(logs.records().some((record) => record['message'] === 'invocation')).toBe(true);
      for (const password of PASSWORDS) expect(seen).not.toContain(password);
    });
  });

  describe('Configuration', () => {
    it('fails every invocation with a configuration error naming PG_SECRET when no credentials are set', async () => {
      // Prepare
      delete process.env['PG_SECRET'];
      vi.resetModules();
      const { connector: unconfigured } = await import('./index.ts');
      // Act
      const attempt = unconfigured.run('query', { sql: 'select 1' });
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'ConfigurationError' });
      await expect(attempt).rejects.toThrow(/PG_SECRET/);
      process.env['PG_SECRET'] = SECRET;
    });

    it('connects with PG_URL for local use when no secret is configured', async () => {
      // Prepare
      delete process.env['PG_SECRET'];
      process.env['PG_URL'] = url;
      vi.resetModules();
      const { connector: local } = await import('./index.ts');
      // Act
      const output = await local.run('query', { sql: 'select current_database() as db' });
      await (await local.runtime.client()).close();
      // Assess
      expect(output).toMatchObject({ rows: [{ db: 'test' }] });
      delete process.env['PG_URL'];
      process.env['PG_SECRET'] = SECRET;
    });
  });
});
