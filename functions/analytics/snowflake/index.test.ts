/**
 * The Snowflake connector against the SQL API v2 contract fake (`scripts/local/sandboxes/snowflake.ts`, the SQL
 * run on DuckDB, the key-pair JWT verified against the registered public key, partitions of 400 rows) and a
 * local Secrets Manager: the warehouse-query conformance suite, results checked against DuckDB directly,
 * bindings, partitions, async polling, cancel, key rotation, 401/422/429/5xx/malformed answers, every trigger,
 * and no private key or parameter value in any answer or log line.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { configureSecrets, resetCircuitBreakers, ValidationError } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeWarehouseQueryConformance } from '#shared/interfaces/warehouse-query.conformance.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  fingerprintOf,
  type SnowflakeFakeState,
  startSnowflakeFake,
} from '../../../scripts/local/sandboxes/snowflake.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { jwtAccount, publicKeyFingerprint, signKeyPairJwt, snowflakeKeyPairAuth } from './auth.ts';
import { binding, SnowflakeWarehouse, snowflakeApi } from './client.ts';
import { scrub } from './errors.ts';
import { resultColumn, toJsonValue } from './values.ts';

const KEY_SECRET = 'test/snowflake/private-key';
const PARAM_MARKER = 'param-marker-5c1d';

function keyPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

const KEY = keyPair();
const ROTATED = keyPair();
const STRANGER = keyPair();

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<SnowflakeFakeState>;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const responses: string[] = [];
const logTexts: string[] = [];

async function call(operation: string, body: unknown, remainingMs?: number): Promise<HttpResult> {
  const event = httpEvent({ path: `/snowflake/${operation}`, body });
  const context = lambdaContext(remainingMs === undefined ? {} : { remainingMs });
  const response = (await connector.handler(event, context)) as HttpResult;
  responses.push(response.body);
  return response;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

function warehouse(): SnowflakeWarehouse {
  const auth = snowflakeKeyPairAuth({
    account: 'myorg-analytics',
    user: 'loader',
    privateKey: KEY.privateKey,
  });
  return new SnowflakeWarehouse(snowflakeApi.client({ baseUrl: fake.url, auth, coordination: false }), {
    account: 'myorg-analytics',
    user: 'loader',
    defaultTimeoutSeconds: 0,
  });
}

beforeAll(async () => {
  fake = await startSnowflakeFake({ partitionRows: 400, publicKeys: [KEY.publicKey, ROTATED.publicKey] });
  secrets = await startSecretsManager({ [KEY_SECRET]: KEY.privateKey });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SNOWFLAKE_API_URL: fake.url,
    SNOWFLAKE_ACCOUNT: 'myorg-analytics',
    SNOWFLAKE_USER: 'loader',
    SNOWFLAKE_WAREHOUSE: 'COMPUTE_WH',
    SNOWFLAKE_PRIVATE_KEY_SECRET: KEY_SECRET,
    SNOWFLAKE_TIMEOUT_MS: '2000',
    SNOWFLAKE_RATE_LIMIT: '0',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await fake.close();
  await secrets.close();
});

beforeEach(async () => {
  fake.clearFaults();
  fake.log.length = 0;
  await secrets.set(KEY_SECRET, KEY.privateKey);
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logTexts.push(logs.text());
  logs.restore();
});

describe('Connector: snowflake', () => {
  describeWarehouseQueryConformance('SnowflakeWarehouse (SQL API v2 fake on DuckDB)', async () => {
    const subject = warehouse();
    return {
      warehouse: subject,
      // The fake runs the SQL on DuckDB: the fixture's engine-specific SQL is DuckDB's.
      series: (count) => `select range::integer as n from range(${count}) order by n`,
      slowSql: 'select count(*) as n from range(100000000000) a where a.range % 7 = 3',
      missingTableSql: 'select * from no_such_table',
      cleanup: () => subject.close(),
    };
  });

  describe('Results against DuckDB directly', () => {
    it('answers the same rows as DuckDB for a join over 1,234 rows read across 4 partitions, 3 of them gzipped', async () => {
      // Prepare
      const sql =
        'select o.range::integer as id, (o.range % 7)::integer as bucket, (o.range * 1.25)::decimal(12,2) as amount, ' +
        "date '2026-01-01' + (o.range % 30)::integer as day, 'row ' || o.range as label " +
        'from range(1234) o where o.range >= ? order by id';
      const duck = await (await DuckDBInstance.create(':memory:')).connect();
      const direct = (await duck.runAndReadAll(sql.replace('?', '0'))).getRowsJson();
      duck.closeSync();

      // Act
      const started = parsed(await call('start-query', { sql, params: [0] }));
      const status = parsed(await call('get-query', { queryId: started['queryId'], waitSeconds: 20 }));
      const rows: unknown[][] = [];
      let cursor: unknown;
      let pages = 0;
      do {
        const answer = await call('get-query-results', {
          queryId: started['queryId'],
          pageSize: 500,
          ...(cursor ? { cursor } : {}),
        });
        // Partitions after the first come gzip-compressed (Content-Encoding: gzip), as Snowflake sends them.
        expect(answer.body).not.toContain('does not parse');
        expect(answer.statusCode).toBe(200);
        const page = parsed(answer);
        rows.push(...(page['rows'] as unknown[][]));
        cursor = page['nextCursor'];
        pages += 1;
      } while (cursor !== null);

      // Assess
      expect(started['state']).toBe('running');
      expect(status).toMatchObject({ state: 'succeeded', rowCount: 1234 });
      expect(pages).toBe(3);
      // INTEGER is NUMBER(38,0) in Snowflake: kind bigint, its exact text.
      expect(rows).toEqual(direct.map((row) => [String(row[0]), String(row[1]), row[2], row[3], row[4]]));
      const partitions = fake
        .logFor('get-statement')
        .filter((entry) => entry.query['partition'] !== undefined);
      expect(partitions.map((entry) => entry.query['partition'])).toEqual(['0', '1', '1', '2', '2', '3']);
    });

    it('reads the seeded orders with typed columns and a bound value', async () => {
      // Act
      const response = await call('run-query', {
        sql: 'select id, customer, amount, ordered_at from orders where customer = ? order by id',
        params: ['acme'],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      const body = parsed(response) as { results: { columns: unknown[]; rows: unknown[][] } };
      expect(body.results.columns).toEqual([
        { name: 'ID', type: 'NUMBER(38,0)', kind: 'bigint' },
        { name: 'CUSTOMER', type: 'TEXT', kind: 'string' },
        { name: 'AMOUNT', type: 'NUMBER(10,2)', kind: 'decimal' },
        { name: 'ORDERED_AT', type: 'TIMESTAMP_NTZ(9)', kind: 'timestamp' },
      ]);
      expect(body.results.rows).toEqual([
        ['1', 'acme', '120.50', '2026-01-02T09:00:00'],
        ['3', 'acme', '300.25', '2026-01-04T11:45:00'],
      ]);
    });

    it("answers Snowflake's names and rowType: unquoted names upper-cased, integers NUMBER(38,0), every value text", async () => {
      // Act
      const out = (await connector.run('run-query', {
        sql:
          'select 1 as total, 2::bigint as "mixedCase", true as ok, 0.5::double as ratio, ' +
          "date '2026-01-02' as \"day\", timestamp '2026-01-02 03:04:05.5' as at, null::integer as nothing, " +
          // A quote inside a string literal or a comment quotes nothing.
          '\'say "ok"\' as -- "quoted"\n quoted',
      })) as { results: { columns: unknown[]; rows: unknown[][] } };

      // Assess
      expect(out.results.columns).toEqual([
        { name: 'TOTAL', type: 'NUMBER(38,0)', kind: 'bigint' },
        { name: 'mixedCase', type: 'NUMBER(38,0)', kind: 'bigint' },
        { name: 'OK', type: 'BOOLEAN', kind: 'boolean' },
        { name: 'RATIO', type: 'REAL', kind: 'float' },
        { name: 'day', type: 'DATE', kind: 'date' },
        { name: 'AT', type: 'TIMESTAMP_NTZ(9)', kind: 'timestamp' },
        { name: 'NOTHING', type: 'NUMBER(38,0)', kind: 'bigint' },
        { name: 'QUOTED', type: 'TEXT', kind: 'string' },
      ]);
      expect(out.results.rows).toEqual([
        ['1', '2', true, 0.5, '2026-01-02', '2026-01-02T03:04:05.500000', null, 'say "ok"'],
      ]);
      const statement = [...fake.state.statements.values()].at(-1);
      expect(statement?.columns[0]).toMatchObject({ type: 'fixed', precision: 38, scale: 0 });
      expect(statement?.rows).toEqual([
        ['1', '2', 'true', '0.5', '20455', '1767323045.500000000', null, 'say "ok"'],
      ]);
    });

    it('encodes binary, zoned, time, nested and non-finite values as their kinds say', async () => {
      // Act
      const out = (await connector.run('run-query', {
        sql:
          "select '\\x01\\xff'::blob as bl, timestamptz '2026-01-02 03:04:05.25+02' as tz, time '10:11:12' as t, " +
          "[1, 2] as l, {'a': 42} as st, '{\"x\": [1]}'::json as j, 'inf'::double as f, 3::hugeint as h",
      })) as { results: { columns: { kind: string }[]; rows: unknown[][] } };

      // Assess
      expect(out.results.columns.map((column) => column.kind)).toEqual([
        'binary',
        'timestamp-tz',
        'time',
        'list',
        'struct',
        'json',
        'float',
        'bigint',
      ]);
      expect(out.results.rows).toEqual([
        ['Af8=', '2026-01-02T01:04:05.250000Z', '10:11:12', [1, 2], { a: 42 }, { x: [1] }, 'Infinity', '3'],
      ]);
    });
  });

  describe('Results beyond a double and beyond years 0000 to 9999', () => {
    it('answers wide integers exactly, NaN and -0 as the interface says, and dates and timestamps of any year', async () => {
      // Act
      const out = (await connector.run('run-query', {
        sql:
          'select 170141183460469231731687303715884105727::hugeint as h, ' +
          '12345678901234567890123456789012345678::decimal(38,0) as d, ' +
          "?::decimal(38,0) as p, 'nan'::double as n, '-0.0'::double as z, " +
          "date '10000-01-01' as far, date '0044-03-15 (BC)' as bc, date '1969-12-31' as before, " +
          "timestamp '10000-01-01 00:00:00.000001' as far_at, timestamp '0044-03-15 (BC) 10:00:00.5' as bc_at, " +
          "timestamptz '10000-01-01 00:00:00+00' as far_tz, timestamp '1969-12-31 23:59:58.5' as late_sixties",
        params: ['12345678901234567890123456789012345678'],
      })) as { results: { rows: unknown[][] } };

      // Assess
      expect(out.results.rows).toEqual([
        [
          '170141183460469231731687303715884105727',
          '12345678901234567890123456789012345678',
          '12345678901234567890123456789012345678',
          'NaN',
          0,
          '10000-01-01',
          '-0043-03-15',
          '1969-12-31',
          '10000-01-01T00:00:00.000001',
          '-0043-03-15T10:00:00.500000',
          '10000-01-01T00:00:00Z',
          '1969-12-31T23:59:58.500000',
        ],
      ]);
    });
  });

  describe("Result typing from Snowflake's rowType", () => {
    it('types each rowType entry as the interface says and decodes its jsonv2 text', () => {
      // Prepare: rowType entries and values as a real account sends them (lower-case types, every value text).
      const cells: [Parameters<typeof resultColumn>[0], unknown][] = [
        [{ name: 'ID', type: 'fixed', precision: 38, scale: 0 }, '9007199254740993'],
        [{ name: 'ONE', type: 'fixed', precision: 1, scale: 0 }, '7'],
        [{ name: 'TOTAL', type: 'fixed', precision: 38, scale: 2 }, '-0.25'],
        [{ name: 'RATIO', type: 'real' }, '0.5'],
        [{ name: 'LABEL', type: 'text' }, 'acme'],
        [{ name: 'OK', type: 'boolean' }, 'false'],
        [{ name: 'DAY', type: 'date' }, '20455'],
        [{ name: 'AT', type: 'TIMESTAMP_NTZ', scale: 9 }, '1767323045.500000000'],
        [{ name: 'LTZ', type: 'timestamp_ltz', scale: 9 }, '1767323045.000000000'],
        [{ name: 'TZ', type: 'timestamp_tz', scale: 9 }, '1767323045.000000000 1560'],
        [{ name: 'mixedCase', type: 'fixed', precision: 38, scale: 0 }, null],
      ];

      // Act
      const columns = cells.map(([column]) => resultColumn(column));
      const values = cells.map(([, value], i) => toJsonValue(value, columns[i]?.kind ?? 'other'));

      // Assess
      expect(columns).toEqual([
        { name: 'ID', type: 'NUMBER(38,0)', kind: 'bigint' },
        { name: 'ONE', type: 'NUMBER(1,0)', kind: 'integer' },
        { name: 'TOTAL', type: 'NUMBER(38,2)', kind: 'decimal' },
        { name: 'RATIO', type: 'REAL', kind: 'float' },
        { name: 'LABEL', type: 'TEXT', kind: 'string' },
        { name: 'OK', type: 'BOOLEAN', kind: 'boolean' },
        { name: 'DAY', type: 'DATE', kind: 'date' },
        { name: 'AT', type: 'TIMESTAMP_NTZ(9)', kind: 'timestamp' },
        { name: 'LTZ', type: 'TIMESTAMP_LTZ(9)', kind: 'timestamp-tz' },
        { name: 'TZ', type: 'TIMESTAMP_TZ(9)', kind: 'timestamp-tz' },
        { name: 'mixedCase', type: 'NUMBER(38,0)', kind: 'bigint' },
      ]);
      expect(values).toEqual([
        '9007199254740993',
        7,
        '-0.25',
        0.5,
        'acme',
        false,
        '2026-01-02',
        '2026-01-02T03:04:05.500000',
        '2026-01-02T03:04:05Z',
        '2026-01-02T03:04:05Z',
        null,
      ]);
    });

    it('keeps a fraction of a second before 1970 in its own second (floored, not truncated toward 1970)', () => {
      // Act & Assess
      expect(toJsonValue('-1.500000000', 'timestamp')).toBe('1969-12-31T23:59:58.500000');
      expect(toJsonValue('-0.250000000', 'timestamp')).toBe('1969-12-31T23:59:59.750000');
      expect(toJsonValue('-0.25', 'timestamp')).toBe('1969-12-31T23:59:59.750000');
      expect(toJsonValue('-1.000000000', 'timestamp')).toBe('1969-12-31T23:59:59');
      expect(toJsonValue('-86399.999999999', 'timestamp')).toBe('1969-12-31T00:00:00.000000001');
      expect(toJsonValue('-1.500000000 1440', 'timestamp-tz')).toBe('1969-12-31T23:59:58.500000Z');
      expect(toJsonValue('-1.500000000', 'timestamp-tz')).toBe('1969-12-31T23:59:58.500000Z');
      expect(toJsonValue('-1.0000001', 'timestamp')).toBe('1969-12-31T23:59:58.999999900');
      expect(toJsonValue('1.500000000', 'timestamp')).toBe('1970-01-01T00:00:01.500000');
      expect(toJsonValue('45296.250000000', 'time')).toBe('12:34:56.250000');
    });
  });

  describe('The SQL API', () => {
    it('submits asynchronously with typed bindings, the context and a requestId, and never puts a value in the SQL', async () => {
      // Act
      await call('start-query', {
        sql: 'select ? as a, ? as b, ? as c, ? as d, ? as e',
        params: [42, 0.5, true, 'x', null],
        database: 'ANALYTICS',
        timeoutSeconds: 30,
      });

      // Assess
      const [submit] = fake.logFor('submit-statement');
      expect(submit?.query).toMatchObject({ async: 'true', retry: 'true', nullable: 'true' });
      expect(submit?.query['requestId']).toMatch(/^[0-9a-f-]{36}$/);
      expect(submit?.headers['x-snowflake-authorization-token-type']).toBe('KEYPAIR_JWT');
      expect(submit?.body).toEqual({
        statement: 'select ? as a, ? as b, ? as c, ? as d, ? as e',
        timeout: 30,
        warehouse: 'COMPUTE_WH',
        database: 'ANALYTICS',
      });
      expect([42, 0.5, true, 'x', null].map(binding)).toEqual([
        { type: 'FIXED', value: '42' },
        { type: 'REAL', value: '0.5' },
        { type: 'BOOLEAN', value: 'true' },
        { type: 'TEXT', value: 'x' },
        { type: 'TEXT', value: null },
      ]);
    });

    it('signs the JWT with iss ACCOUNT.USER.SHA256:<fingerprint> and sub ACCOUNT.USER, as the fake verified', async () => {
      // Prepare
      const now = Date.UTC(2026, 0, 2);

      // Act
      const { value, expiresAt } = signKeyPairJwt(
        { account: 'xy12345.us-east-2.aws', user: 'loader', privateKey: KEY.privateKey },
        now,
      );
      const claims = JSON.parse(Buffer.from(value.split('.')[1] as string, 'base64url').toString('utf8'));
      await call('run-query', { sql: 'select 1 as one' });

      // Assess
      expect(jwtAccount('xy12345.us-east-2.aws')).toBe('XY12345');
      expect(publicKeyFingerprint(KEY.privateKey)).toBe(fingerprintOf(createPublicKey(KEY.publicKey)));
      expect(claims).toEqual({
        iss: `XY12345.LOADER.${publicKeyFingerprint(KEY.privateKey)}`,
        sub: 'XY12345.LOADER',
        iat: now / 1000,
        exp: now / 1000 + 3540,
      });
      expect(expiresAt).toBe(now + 3_540_000);
      expect(fake.state.subjects).toContain('MYORG-ANALYTICS.LOADER');
    });

    it('answers 401 when the key is not the user’s, and re-reads a rotated key after a 401', async () => {
      // Prepare
      fake.state.publicKeys.delete(fingerprintOf(createPublicKey(ROTATED.publicKey)));
      const stranger = snowflakeKeyPairAuth({
        account: 'myorg-analytics',
        user: 'loader',
        privateKey: STRANGER.privateKey,
      });
      const refused = new SnowflakeWarehouse(
        snowflakeApi.client({ baseUrl: fake.url, auth: stranger, coordination: false }),
        {
          account: 'myorg-analytics',
          user: 'loader',
          defaultTimeoutSeconds: 0,
        },
      );

      // Act
      const attempt = refused.startQuery({ sql: 'select 1' });
      await expect(attempt).rejects.toMatchObject({ name: 'AuthError' });
      await secrets.set(KEY_SECRET, ROTATED.privateKey);
      fake.state.publicKeys.set(
        fingerprintOf(createPublicKey(ROTATED.publicKey)),
        createPublicKey(ROTATED.publicKey),
      );
      fake.state.publicKeys.delete(fingerprintOf(createPublicKey(KEY.publicKey)));
      const rotated = await call('run-query', { sql: 'select 2 as two' });
      fake.state.publicKeys.set(
        fingerprintOf(createPublicKey(KEY.publicKey)),
        createPublicKey(KEY.publicKey),
      );

      // Assess
      await expect(attempt).rejects.toThrow(/JWT is invalid/);
      expect(rotated.statusCode).toBe(200);
      expect(parsed(rotated)).toMatchObject({ results: { rows: [['2']] } });
      // The stranger's JWT, re-signed once after the 401; then the connector's old key, the secret re-read, 202.
      expect(fake.logFor('submit-statement').map((entry) => entry.status)).toEqual([401, 401, 401, 202]);
      await refused.close();
    });

    it('answers 400 with Snowflake’s code and words for SQL it refuses, 404 for a missing table', async () => {
      // Act
      const syntax = await call('run-query', { sql: 'selec 1' });
      const two = await call('run-query', { sql: 'select 1; select 2' });
      const missing = await call('run-query', { sql: 'select * from nowhere' });
      const conversion = await call('run-query', {
        sql: 'select cast(? as integer) as n',
        params: [PARAM_MARKER],
      });

      // Assess
      expect(syntax.statusCode).toBe(400);
      expect(parsed(syntax)['detail']).toMatch(
        /syntax error\) \(001003\): SQL compilation error: syntax error at or near "selec"/,
      );
      expect(two.statusCode).toBe(400);
      expect(parsed(two)['detail']).toContain('000008');
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('002003');
      expect(conversion.statusCode).toBe(400);
      expect(conversion.body).not.toContain(PARAM_MARKER);
    });

    it('waits out a 429 with Retry-After and a 503, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'submit-statement' });
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'get-statement' });

      // Act
      const response = await call('run-query', { sql: 'select 5 as five' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({ status: { state: 'succeeded' }, results: { rows: [['5']] } });
      expect(fake.logFor('submit-statement').map((entry) => entry.status)).toEqual([429, 202]);
      expect(fake.logFor('get-statement')[0]?.status).toBe(503);
    });

    it.each([
      [
        '000625',
        '57014',
        "Statement '01b6c04c-0108' has locked table 'LINEITEM' in transaction 1725239781553000000 and this lock has not yet been released. Your statement '01b6c04c-0109' was aborted because the number of waiters for this lock exceeds the 20 statements limit.",
      ],
      ['000999', '40001', 'Transaction was aborted: serialization failure'],
      ['000998', '40P01', 'Transaction was aborted because it was deadlocked'],
    ])(
      'answers the lock contention failure %s (SQLSTATE %s) as a retryable 503, not a 400',
      async (code, sqlState, message) => {
        // Prepare
        fake.inject(
          {
            kind: 'answer',
            answer: {
              status: 422,
              json: { code, sqlState, message, statementHandle: '01b6c04c-0108-5374-0008-50d700010056' },
            },
          },
          { route: 'submit-statement' },
        );

        // Act
        const response = await call('start-query', { sql: 'insert into t values (1)' });

        // Assess
        expect(response.statusCode).toBe(503);
        expect(parsed(response)['detail']).toContain(code);
        expect(response.body).not.toContain('LINEITEM');
      },
    );

    it('fails with 429 and the wait when Retry-After exceeds the time left', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'submit-statement' });

      // Act
      const response = await call('start-query', { sql: 'select 1' });

      // Assess
      expect(response.statusCode).toBe(429);
      expect(response.headers['retry-after']).toBe('120');
    });

    it('answers 502 for a malformed or wrongly shaped answer', async () => {
      // Prepare
      fake.inject({ kind: 'malformed' }, { route: 'submit-statement' });
      fake.inject({ kind: 'wrong-shape', json: { code: '333334' } }, { route: 'submit-statement' });

      // Act
      const malformed = await call('start-query', { sql: 'select 1' });
      const wrong = await call('start-query', { sql: 'select 1' });

      // Assess
      expect(malformed.statusCode).toBe(502);
      expect(wrong.statusCode).toBe(502);
      expect(parsed(wrong)['detail']).toContain('statementHandle');
    });

    it('reads a 408 QueryStatus as a statement stopped by its timeout (failed, 000630), not as Snowflake unavailable', async () => {
      // Prepare: the SQL API reference answers 408 with a QueryStatus for a statement past its timeout
      const timedOut = {
        code: '000630',
        sqlState: '57014',
        message: 'Statement reached its statement or warehouse timeout of 1 second(s) and was canceled.',
        statementHandle: '01b2c3d4-0000-0000-0000-000000000003',
        statementStatusUrl: '/api/v2/statements/01b2c3d4-0000-0000-0000-000000000003',
      };
      fake.inject({ kind: 'answer', answer: { status: 408, json: timedOut } }, { route: 'get-statement' });
      fake.inject({ kind: 'answer', answer: { status: 408, json: timedOut } }, { route: 'get-statement' });

      // Act
      const status = await call('get-query', { queryId: timedOut.statementHandle });
      const results = await call('get-query-results', { queryId: timedOut.statementHandle });

      // Assess
      expect(status.statusCode).toBe(200);
      expect(parsed(status)).toMatchObject({ state: 'failed', failure: { code: '000630' } });
      expect(results.statusCode).toBe(504);
      expect(fake.logFor('get-statement')).toHaveLength(2);
    });

    it('answers the handle of a statement still running when the time left runs out, then cancels it', async () => {
      // Act
      const response = await call(
        'run-query',
        { sql: 'select count(*) from range(100000000000) a where a.range % 7 = 3', waitSeconds: 60 },
        3_000,
      );
      const body = parsed(response) as { status: { queryId: string; state: string }; results: unknown };
      const cancelled = await call('cancel-query', { queryId: body.status.queryId });
      const results = await call('get-query-results', { queryId: body.status.queryId });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(body.status.state).toBe('running');
      expect(body.results).toBeNull();
      expect(parsed(cancelled)['state']).toBe('cancelled');
      expect(fake.logFor('cancel-statement')).toHaveLength(1);
      expect(results.statusCode).toBe(409);
    });

    it('answers 400 naming /queryId for a handle of "." or "..", before any call', async () => {
      // Prepare
      const before = fake.log.length;

      // Act
      const responses = await Promise.all(
        ['.', '..'].flatMap((queryId) => [
          call('get-query', { queryId }),
          call('cancel-query', { queryId }),
          call('get-query-results', { queryId }),
        ]),
      );

      // Assess
      for (const response of responses) {
        expect(response.statusCode).toBe(400);
        expect(parsed(response)['errors']).toEqual([
          { pointer: '/queryId', message: '"." and ".." cannot name a statement in a URL' },
        ]);
      }
      expect(fake.log.slice(before)).toEqual([]);
    });

    it('refuses a cursor of another query and an unknown field', async () => {
      // Prepare
      const first = (await connector.run('run-query', { sql: 'select 1 as one' })) as {
        status: { queryId: string };
      };
      const other = (await connector.run('run-query', {
        sql: 'select range from range(3)',
        pageSize: 1,
      })) as {
        results: { nextCursor: string };
      };

      // Act
      const cursor = await call('get-query-results', {
        queryId: first.status.queryId,
        cursor: other.results.nextCursor,
      });
      const unknown = await call('run-query', { sql: 'select 1', parms: [] });

      // Assess
      expect(cursor.statusCode).toBe(400);
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors']).toEqual([{ pointer: '/parms', message: 'unknown field' }]);
    });

    it('takes literals out of Snowflake’s messages', () => {
      // Assess
      expect(scrub("Numeric value 'secret' is not recognized")).toBe("Numeric value '?' is not recognized");
      expect(new ValidationError('x')).toBeInstanceOf(ValidationError);
    });
  });

  describe('Review 2026-12-07: time zone, nanoseconds, resubmissions, big integers', () => {
    /** One raw SQL API submission, signed as the connector signs, so the test chooses the query string. */
    async function submitRaw(
      query: string,
      statement: string,
    ): Promise<{ status: number; body: { statementHandle?: string } }> {
      const { value } = signKeyPairJwt({
        account: 'myorg-analytics',
        user: 'loader',
        privateKey: KEY.privateKey,
      });
      const response = await fetch(`${fake.url}/api/v2/statements?${query}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${value}`,
          'x-snowflake-authorization-token-type': 'KEYPAIR_JWT',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ statement }),
      });
      return { status: response.status, body: (await response.json()) as { statementHandle?: string } };
    }

    it(`converts TIMESTAMP_LTZ by the session TIMEZONE (America/Los_Angeles), not by this process's TZ (${process.env['TZ'] ?? 'unset'})`, async () => {
      // Act: an instant given in UTC, converted to the session's wall-clock time as Snowflake does.
      const out = (await connector.run('run-query', {
        sql: "select cast(cast('2026-01-02 10:00:00+00:00' as timestamptz) as timestamp) as wall",
      })) as { results: { rows: unknown[][] } };

      // Assess: January in Los Angeles is UTC-8, whatever TZ this process runs under.
      expect(out.results.rows).toEqual([['2026-01-02T02:00:00']]);
    });

    it('keeps the nanoseconds of a TIMESTAMP(9) and a TIME(9) value instead of cutting them to microseconds', async () => {
      // Act
      const out = (await connector.run('run-query', {
        sql:
          "select '2026-01-02 03:04:05.123456789'::timestamp_ns as at, '1969-12-31 23:59:59.000000001'::timestamp_ns as before, " +
          "'03:04:05.000000007'::time_ns as t, '2026-01-02 03:04:05.5'::timestamp_ns as half",
      })) as { results: { columns: { type: string; kind: string }[]; rows: unknown[][] } };

      // Assess
      expect(out.results.columns.map((c) => [c.type, c.kind])).toEqual([
        ['TIMESTAMP_NTZ(9)', 'timestamp'],
        ['TIMESTAMP_NTZ(9)', 'timestamp'],
        ['TIME(9)', 'time'],
        ['TIMESTAMP_NTZ(9)', 'timestamp'],
      ]);
      expect(out.results.rows).toEqual([
        [
          '2026-01-02T03:04:05.123456789',
          '1969-12-31T23:59:59.000000001',
          '03:04:05.000000007',
          '2026-01-02T03:04:05.500000',
        ],
      ]);
    });

    it('answers a resubmitted requestId with the first statement when it succeeded, with or without retry=true', async () => {
      // Prepare
      const requestId = '6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab';
      const first = await submitRaw(`requestId=${requestId}`, 'select 1 as one');

      // Act
      const again = await submitRaw(`requestId=${requestId}`, 'select 1 as one');
      const retried = await submitRaw(`requestId=${requestId}&retry=true`, 'select 1 as one');

      // Assess
      expect(first.status).toBe(200);
      expect(again.body.statementHandle).toBe(first.body.statementHandle);
      expect(retried.body.statementHandle).toBe(first.body.statementHandle);
    });

    it('runs a resubmitted requestId again when its first statement failed (only a success is not executed twice)', async () => {
      // Prepare: a statement that compiles and fails while running.
      const requestId = '7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d';
      const sql = "select cast(x as integer) as n from (values ('not a number')) v(x)";
      const first = await submitRaw(`requestId=${requestId}&retry=true`, sql);
      expect(first.status).toBe(422);

      // Act
      const again = await submitRaw(`requestId=${requestId}&retry=true`, sql);

      // Assess: a new execution (its own handle), which fails again here.
      expect(again.status).toBe(422);
      expect(again.body.statementHandle).not.toBe(first.body.statementHandle);
    });

    it('binds an integer beyond 2^53 given as decimal text exactly to a NUMBER(38,0) column', async () => {
      // Act
      const out = (await connector.run('run-query', {
        sql: 'select id, id + 1 as next from (values (9007199254740993::bigint)) t(id) where id = ?',
        params: ['9007199254740993'],
      })) as { results: { rows: unknown[][] } };

      // Assess: the row matched (a double would have been ...992) and its value comes back exact.
      expect(out.results.rows).toEqual([['9007199254740993', '9007199254740994']]);
      expect(binding('9007199254740993')).toEqual({ type: 'TEXT', value: '9007199254740993' });
    });

    it('refuses an integer parameter JSON has already rounded (beyond 2^53) with a 400 naming it, keeping floats', async () => {
      // Act: 9007199254740993 arrives as 9007199254740992, the neighbouring id.
      const rounded = await call(
        'run-query',
        '{"sql":"select count(*) from (values (9007199254740992::bigint)) t(id) where id = ?","params":[9007199254740993]}',
      );
      const floats = await call('run-query', { sql: 'select ? as a, ? as b', params: [1.5, 2 ** 53 - 1] });

      // Assess
      expect(rounded.statusCode).toBe(400);
      expect(parsed(rounded)['errors']).toEqual([
        { pointer: '/params/0', message: expect.stringMatching(/beyond 2\^53.*decimal text/) },
      ]);
      expect(floats.statusCode).toBe(200);
    });
  });

  describe('Lambda Managed Instances: concurrent invocations of one warm handler', () => {
    it('answers each of several interleaved invocations with its own statement, bindings and rows', async () => {
      // Prepare: LMI sends one handler several invocations at once, sharing its module state and its one
      // cached JWT (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html).
      const customers = ['acme', 'globex', 'acme', 'globex'];
      // Act
      const answers = await Promise.all(
        customers.map((customer, index) =>
          call(
            'run-query',
            {
              sql: `select id, ? as who, ${index} as slot from orders where customer = ? order by id`,
              params: [customer, customer],
            },
            60_000 + index * 1_000,
          ),
        ),
      );
      // Assess
      const single = async (customer: string): Promise<unknown> =>
        parsed(
          await call('run-query', {
            sql: 'select id from orders where customer = ? order by id',
            params: [customer],
          }),
        )['results'];
      const ids = {
        acme: ((await single('acme')) as { rows: unknown[][] }).rows.map((row) => row[0]),
        globex: ((await single('globex')) as { rows: unknown[][] }).rows.map((row) => row[0]),
      };
      expect(ids.acme).not.toEqual(ids.globex);
      answers.forEach((answer, index) => {
        const customer = customers[index] as 'acme' | 'globex';
        expect(answer.statusCode).toBe(200);
        const rows = (parsed(answer) as { results: { rows: unknown[][] } }).results.rows;
        expect(rows.map((row) => row[0])).toEqual(ids[customer]);
        expect(rows.every((row) => row[1] === customer && String(row[2]) === String(index))).toBe(true);
      });
    });
  });

  describe('Triggers', () => {
    it('runs a queued request, a Step Functions task and health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'run-query', input: { sql: 'select 1 as one' } } }]),
        lambdaContext(),
      );
      const task = (await connector.handler(
        { operation: 'run-query', input: { sql: 'select ? as greeting', params: ['hello'] } },
        lambdaContext(),
      )) as { results: { rows: unknown[][] } };
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/snowflake/health' }),
        lambdaContext(),
      )) as HttpResult;

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task.results.rows).toEqual([['hello']]);
      expect(health.statusCode).toBe(200);
    });

    it('never shows the private key or a parameter value in an answer or a log line', () => {
      // Assess
      const keyLine = KEY.privateKey.split('\n')[5] as string;
      const rotatedLine = ROTATED.privateKey.split('\n')[5] as string;
      expect(responses.length).toBeGreaterThan(20);
      expect(logTexts.join('\n')).toContain('get-query-results');
      for (const text of [...responses, ...logTexts]) {
        expect(text).not.toContain(keyLine);
        expect(text).not.toContain(rotatedLine);
        expect(text).not.toContain(PARAM_MARKER);
      }
    });
  });
});
