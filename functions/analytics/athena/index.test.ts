/**
 * The Athena connector against the Athena JSON API contract fake (`scripts/local/aws/athena.ts`, served by the
 * local stack's AWS endpoint, the SQL run on DuckDB over tables read from s3rver): the warehouse-query
 * conformance suite, results checked against DuckDB directly, paging with NextToken, the result CSV at the
 * output location, a Step Functions Wait/Choice polling loop, every trigger, AWS errors mapped once, and no
 * parameter value in any answer.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaClient, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ConfigurationError,
  ConflictError,
  NotFoundError,
  NotSupportedError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { captureLogs, httpEvent, lambdaContext, sqsEvent } from '@circle-core/core/testing';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeWarehouseQueryConformance } from '#shared/interfaces/warehouse-query.conformance.ts';
import { runQuery, waitForQuery } from '#shared/interfaces/warehouse-query-operations.ts';
import { AthenaEngine, athenaService } from '../../../scripts/local/aws/athena.ts';
import { startLocalAthena } from '../../../scripts/local/aws/athena-local.ts';
import { AwsError, type JsonService } from '../../../scripts/local/aws/protocol.ts';
import { type AwsEndpoint, startAwsEndpoint } from '../../../scripts/local/aws/server.ts';
import type { InvokeOutcome } from '../../../scripts/local/functions/function-process.ts';
import { createStackLog } from '../../../scripts/local/log.ts';
import { StepFunctionsEngine } from '../../../scripts/local/workflows/step-functions.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { type AthenaOptions, AthenaWarehouse } from './client.ts';
import { queryError, scrub } from './errors.ts';
import { connector } from './index.ts';
import { literal, resultColumn, toJsonValue } from './values.ts';

// The connector reads its settings when index.ts is imported: set them before the imports run.
vi.hoisted(() => {
  process.env['ATHENA_DATABASE'] = 'analytics';
  process.env['ATHENA_WORKGROUP'] = 'primary';
  process.env['ATHENA_OUTPUT_LOCATION'] = 's3://athena-results/connector/';
  process.env['ATHENA_MAX_ATTEMPTS'] = '1';
});

interface HttpResult {
  statusCode: number;
  body: string;
}

const DATA = 'athena-data';
const RESULTS = 'athena-results';
const PARAM_MARKER = 'param-marker-7e2a';
const ROWS = 2_345;

/** Faults the next Athena calls answer instead of the fake: target operation -> AWS error. */
const faults: Array<{ operation: string; error: AwsError | 'hang' | 'empty' }> = [];

let s3rver: S3rverPeer;
let s3: S3Client;
let engine: AthenaEngine;
let aws: AwsEndpoint;
let scratch: string;

function options(more: Partial<AthenaOptions> = {}): AthenaOptions {
  return { workGroup: 'primary', database: 'analytics', timeoutMs: 20_000, maxAttempts: 1, ...more };
}

async function put(key: string, body: string | Uint8Array): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: DATA, Key: key, Body: body }));
}

async function objectText(bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

/** The orders table as CSV: ids 0 .. ROWS-1 split over two objects, as Athena reads a prefix. */
function ordersCsv(from: number, to: number): string {
  const lines = ['id,customer,amount,ordered_at'];
  for (let id = from; id < to; id += 1) {
    const day = String(1 + (id % 28)).padStart(2, '0');
    lines.push(
      `${id},${['acme', 'globex', 'initech'][id % 3]},${(id * 1.25).toFixed(2)},2026-01-${day} 09:00:00`,
    );
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  s3rver = await startS3rver({ buckets: [DATA, RESULTS] });
  s3 = new S3Client({
    endpoint: s3rver.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  scratch = await mkdtemp(join(tmpdir(), 'athena-test-'));
  await put('tables/orders/part-0.csv', ordersCsv(0, 1_200));
  await put('tables/orders/part-1.csv', ordersCsv(1_200, ROWS));
  await put(
    'tables/events/events.ndjson',
    `${[
      { path: '/products/p1', customer: 'acme', at: '2026-01-02T10:00:00' },
      { path: '/products/p2', customer: 'globex', at: '2026-01-02T11:00:00' },
      { path: '/products/p1', customer: 'initech', at: '2026-01-03T12:00:00' },
    ]
      .map((event) => JSON.stringify(event))
      .join('\n')}\n`,
  );
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const parquet = join(scratch, 'products.parquet');
  await duck.run(
    `copy (select 'p' || range as product_id, 'category ' || (range % 2) as category from range(1, 5)) to '${parquet}' (format parquet)`,
  );
  duck.closeSync();
  await put('tables/products/products.parquet', await readFile(parquet));

  engine = new AthenaEngine({
    catalog: {
      databases: {
        default: {},
        analytics: {
          orders: { location: `s3://${DATA}/tables/orders/`, format: 'csv' },
          events: { location: `s3://${DATA}/tables/events/`, format: 'json' },
          products: { location: `s3://${DATA}/tables/products/`, format: 'parquet' },
          empty: {
            location: `s3://${DATA}/tables/empty/`,
            format: 'csv',
            columns: { id: 'integer', note: 'varchar' },
          },
        },
      },
      workGroups: {
        primary: { outputLocation: `s3://${RESULTS}/primary/` },
        bare: {},
        lost: { outputLocation: 's3://no-such-bucket/results/' },
      },
    },
    s3Endpoint: () => s3rver.endpoint,
  });
  const served = athenaService(engine);
  const faulty: JsonService = async (request) => {
    const index = faults.findIndex((fault) => fault.operation === request.operation);
    if (index >= 0) {
      const [fault] = faults.splice(index, 1);
      if (fault?.error === 'hang') await new Promise((resolve) => setTimeout(resolve, 2_000));
      else if (fault?.error === 'empty') return {};
      else if (fault !== undefined) throw fault.error;
    }
    return served(request);
  };
  aws = await startAwsEndpoint({
    port: 0,
    log: createStackLog({ pretty: false, write: () => undefined }),
    services: { accountId: '000000000000', athena: faulty, s3Endpoint: s3rver.endpoint },
  });
  process.env['AWS_ENDPOINT_URL_ATHENA'] = aws.url;
  process.env['AWS_REGION'] = 'us-east-1';
  process.env['AWS_ACCESS_KEY_ID'] = 'test';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'test';
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await aws?.close();
  s3?.destroy();
  await s3rver?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('AthenaWarehouse', () => {
  describeWarehouseQueryConformance(
    'AthenaWarehouse (Athena JSON API fake on DuckDB over s3rver)',
    async () => {
      const subject = await AthenaWarehouse.create(options({ database: 'default' }));
      return {
        warehouse: subject,
        // The fake runs the SQL on DuckDB: the fixture's engine-specific SQL is DuckDB's.
        series: (count) => `select range::integer as n from range(${count}) order by n`,
        slowSql: 'select count(*) as n from range(100000000000) a where a.range % 7 = 3',
        missingTableSql: 'select * from no_such_table',
        waitMs: 60_000,
        cleanup: () => subject.close(),
      };
    },
  );

  describe('Results against DuckDB directly', () => {
    it('answers the rows DuckDB reads from the same S3 objects, paged by NextToken', async () => {
      // Prepare
      const athena = await AthenaWarehouse.create(options());
      const sql =
        'select id, customer, amount, ordered_at from orders where customer <> ? and id >= ? order by id';
      const duck = await (await DuckDBInstance.create(':memory:')).connect();
      const files = ['part-0', 'part-1'].map((name) => join(scratch, `${name}.csv`));
      await writeFile(files[0] as string, ordersCsv(0, 1_200));
      await writeFile(files[1] as string, ordersCsv(1_200, ROWS));
      const direct = await duck.runAndReadAll(
        `select id::varchar as id_text, customer, amount, strftime(ordered_at, '%Y-%m-%dT%H:%M:%S.000') as ordered_at ` +
          `from read_csv([${files.map((f) => `'${f}'`).join(', ')}], header = true) where customer <> 'globex' and id >= 10 order by id`,
      );
      const expected = direct.getRowsJson();
      duck.closeSync();

      // Act
      const started = await athena.startQuery({ sql, params: ['globex', 10] });
      const status = await waitForQuery(athena, started.queryId, 60_000);
      const seen: unknown[][] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      let columns: unknown;
      do {
        const page = await athena.getQueryResults({ queryId: started.queryId, pageSize: 700, cursor });
        columns = page.columns;
        sizes.push(page.rows.length);
        seen.push(...page.rows);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      await athena.close();

      // Assess
      expect(status.state).toBe('succeeded');
      expect(expected.length).toBeGreaterThan(1_500);
      expect(seen).toEqual(expected);
      expect(sizes.slice(0, -1).every((size) => size === 700)).toBe(true);
      expect(columns).toEqual([
        { name: 'id', type: 'bigint', kind: 'bigint' },
        { name: 'customer', type: 'varchar', kind: 'string' },
        { name: 'amount', type: 'double', kind: 'float' },
        { name: 'ordered_at', type: 'timestamp', kind: 'timestamp' },
      ]);
    }, 180_000);

    it('reads NDJSON and Parquet tables and joins them', async () => {
      // Act
      const athena = await AthenaWarehouse.create(options());
      const { status, results } = await runQuery(
        athena,
        {
          sql:
            'select p.category, count(e.customer) as views from products p left join events e ' +
            'on e.path = ? || p.product_id group by p.category order by p.category',
          params: ['/products/'],
        },
        60_000,
        10,
      );
      await athena.close();

      // Assess
      expect(status.state).toBe('succeeded');
      expect(results?.rows).toEqual([
        ['category 0', '1'],
        ['category 1', '2'],
      ]);
    }, 120_000);

    it('writes the result as CSV to the output location, header first, as Athena does', async () => {
      // Act
      const athena = await AthenaWarehouse.create(options());
      const { status } = await runQuery(
        athena,
        { sql: 'select id, note from empty union all select 1, \'a "quoted" note\' order by 1' },
        60_000,
        10,
      );
      await athena.close();
      const csv = await objectText(RESULTS, `primary/${status.queryId}.csv`);

      // Assess
      expect(csv).toBe('"id","note"\n"1","a ""quoted"" note"\n');
    }, 120_000);
  });

  describe('The fake west of UTC', () => {
    it("answers zoned values as Athena's UTC session does when the process runs in Los Angeles", async () => {
      // Prepare: the fake in a child process whose zone is Los Angeles (DuckDB takes it from the process).
      const script = join(scratch, 'zone.mts');
      await writeFile(
        script,
        `import { AthenaEngine, athenaService } from ${JSON.stringify(join(import.meta.dirname, '../../../scripts/local/aws/athena.ts'))};
const engine = new AthenaEngine({
  catalog: { databases: { default: {} }, workGroups: { primary: { outputLocation: 's3://${RESULTS}/zone/' } } },
  s3Endpoint: () => ${JSON.stringify(s3rver.endpoint)},
});
const service = athenaService(engine);
const sql = "select timestamptz '2026-01-01 00:00:00' as bare, cast(timestamptz '2026-01-01 02:00:00+00' as date) as day, " +
  "cast(timestamptz '2026-01-01 02:00:00+00' as timestamp) as wall";
const { QueryExecutionId } = await service({ operation: 'StartQueryExecution', body: { QueryString: sql } }) as { QueryExecutionId: string };
for (let i = 0; i < 200; i += 1) {
  const { QueryExecution } = await service({ operation: 'GetQueryExecution', body: { QueryExecutionId } }) as { QueryExecution: { Status: { State: string } } };
  if (QueryExecution.Status.State !== 'QUEUED' && QueryExecution.Status.State !== 'RUNNING') break;
  await new Promise((resolve) => setTimeout(resolve, 25));
}
const out = await service({ operation: 'GetQueryResults', body: { QueryExecutionId } }) as { ResultSet: { Rows: { Data: { VarCharValue?: string }[] }[] } };
process.stdout.write(JSON.stringify(out.ResultSet.Rows.map((row) => row.Data.map((datum) => datum.VarCharValue))));
process.exit(0);
`,
      );

      // Act
      const rows = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', script],
          { cwd: join(import.meta.dirname, '../../..'), env: { ...process.env, TZ: 'America/Los_Angeles' } },
          (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
        );
      });

      // Assess
      expect(JSON.parse(rows)).toEqual([
        ['bare', 'day', 'wall'],
        ['2026-01-01 00:00:00.000 UTC', '2026-01-01', '2026-01-01 02:00:00.000'],
      ]);
    }, 30_000);
  });

  describe('Method: startQuery', () => {
    it('sends values as ExecutionParameters literals and never inside the SQL text', async () => {
      // Prepare
      const athena = await AthenaWarehouse.create(options());
      const sent: unknown[] = [];
      const before = engine.queries.size;

      // Act
      const { results } = await runQuery(
        athena,
        {
          sql: 'select ? as a, ? as b, ? as c, ? as d',
          params: ["O'Brien", 2.5, false, 9_007_199_254_740_991],
        },
        60_000,
        10,
      );
      for (const query of [...engine.queries.values()].slice(before)) sent.push(query.sql, query.params);
      await athena.close();

      // Assess
      expect(results?.rows).toEqual([["O'Brien", 2.5, false, '9007199254740991']]);
      expect(sent).toEqual([
        'select ? as a, ? as b, ? as c, ? as d',
        ["'O''Brien'", '2.5e+0', 'false', '9007199254740991'],
      ]);
    }, 120_000);

    it('runs in the configured workgroup with the configured output location', async () => {
      // Act
      const athena = await AthenaWarehouse.create(options({ outputLocation: `s3://${RESULTS}/mine/` }));
      const { status } = await runQuery(athena, { sql: 'select 1 as one' }, 60_000, 10);
      await athena.close();

      // Assess
      expect(engine.queries.get(status.queryId)).toMatchObject({
        workGroup: 'primary',
        outputLocation: `s3://${RESULTS}/mine/${status.queryId}.csv`,
      });
      expect(await objectText(RESULTS, `mine/${status.queryId}.csv`)).toBe('"one"\n"1"\n');
    }, 120_000);

    it('refuses an unknown workgroup or a missing output location as configuration', async () => {
      // Prepare
      const unknown = await AthenaWarehouse.create(options({ workGroup: 'nowhere' }));
      const bare = await AthenaWarehouse.create(options({ workGroup: 'bare' }));

      // Act
      const attempts = await Promise.allSettled([
        unknown.startQuery({ sql: 'select 1' }),
        bare.startQuery({ sql: 'select 1' }),
        unknown.ping(),
      ]);
      await unknown.close();
      await bare.close();

      // Assess
      const reasons = attempts.map((attempt) => (attempt as PromiseRejectedResult).reason as Error);
      expect(reasons[0]).toBeInstanceOf(ConfigurationError);
      expect(reasons[0]?.message).toContain('ATHENA_WORKGROUP');
      expect(reasons[1]).toBeInstanceOf(ConfigurationError);
      expect(reasons[1]?.message).toContain('ATHENA_OUTPUT_LOCATION');
      expect(reasons[2]).toBeInstanceOf(ConfigurationError);
    });

    it('answers the same query for a repeated idempotencyKey and a 409 naming it for other SQL or values', async () => {
      // Prepare
      const athena = await AthenaWarehouse.create(options());
      const key = `key-${Date.now()}`;

      // Act
      const first = await athena.startQuery({ sql: 'select ? as a', params: [1], idempotencyKey: key });
      const again = await athena.startQuery({ sql: 'select ? as a', params: [1], idempotencyKey: key });
      const attempts = await Promise.allSettled([
        athena.startQuery({ sql: 'select 2 as a', params: [1], idempotencyKey: key }),
        athena.startQuery({ sql: 'select ? as a', params: [2], idempotencyKey: key }),
        athena.startQuery({ sql: 'select ? as a', params: [1], idempotencyKey: key, database: 'default' }),
      ]);
      const other = await AthenaWarehouse.create(options({ outputLocation: `s3://${RESULTS}/other/` }));
      const moved = await other
        .startQuery({ sql: 'select ? as a', params: [1], idempotencyKey: key })
        .catch((e: unknown) => e);
      await waitForQuery(athena, first.queryId, 60_000);
      await athena.close();
      await other.close();

      // Assess
      expect(again.queryId).toBe(first.queryId);
      for (const reason of [...attempts.map((a) => (a as PromiseRejectedResult).reason), moved]) {
        expect(reason).toBeInstanceOf(ConflictError);
        expect((reason as ConflictError).message).toContain('/idempotencyKey');
        expect((reason as ConflictError).details).toMatchObject({ pointer: '/idempotencyKey' });
      }
    }, 120_000);

    it('refuses timeoutSeconds: Athena has no per-query limit', async () => {
      // Act
      const athena = await AthenaWarehouse.create(options());
      const attempt = athena.startQuery({ sql: 'select 1', timeoutSeconds: 5 });

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      await athena.close();
    });
  });

  describe('Failures', () => {
    it("keeps parameter values out of a failed query's reason and error", async () => {
      // Prepare
      const athena = await AthenaWarehouse.create(options());

      // Act
      const started = await athena.startQuery({
        sql: 'select cast(? as integer) as n',
        params: [PARAM_MARKER],
      });
      const status = await waitForQuery(athena, started.queryId, 60_000);
      const error = await athena.getQueryResults({ queryId: started.queryId }).catch((e: unknown) => e);
      await athena.close();

      // Assess
      expect(status.state).toBe('failed');
      expect(status.failure?.code).toBe('INVALID_CAST_ARGUMENT');
      expect(error).toBeInstanceOf(ValidationError);
      expect(JSON.stringify(status)).not.toContain(PARAM_MARKER);
      expect(JSON.stringify(error)).not.toContain(PARAM_MARKER);
      expect((error as Error).message).not.toContain(PARAM_MARKER);
    }, 120_000);

    it('maps throttling, 5xx, access denied, a hung call and a malformed answer', async () => {
      // Prepare
      const athena = await AthenaWarehouse.create(options({ timeoutMs: 500 }));
      faults.push(
        {
          operation: 'StartQueryExecution',
          error: new AwsError('TooManyRequestsException', 'Rate exceeded'),
        },
        {
          operation: 'GetQueryExecution',
          error: new AwsError('InternalServerException', 'We encountered an internal error', { status: 500 }),
        },
        {
          operation: 'GetWorkGroup',
          error: new AwsError('AccessDeniedException', 'not allowed', { status: 403 }),
        },
        { operation: 'StopQueryExecution', error: 'hang' },
        { operation: 'StartQueryExecution', error: 'empty' },
      );

      // Act
      const results = await Promise.allSettled([
        athena.startQuery({ sql: 'select 1' }),
        athena.getQuery({ queryId: 'some-query' }),
        athena.ping(),
        athena.cancelQuery({ queryId: 'some-query' }),
      ]);
      const malformed = await athena.startQuery({ sql: 'select 1' }).catch((e: unknown) => e);
      await athena.close();

      // Assess
      const reasons = results.map((result) => (result as PromiseRejectedResult).reason);
      expect(reasons[0]).toBeInstanceOf(RateLimitedError);
      expect(reasons[1]).toBeInstanceOf(UnavailableError);
      expect(reasons[2]).toBeInstanceOf(ConfigurationError);
      expect(reasons[3]).toBeInstanceOf(TimeoutError);
      expect(malformed).toBeInstanceOf(UnexpectedResponseError);
    }, 60_000);

    it('answers NotFoundError for a missing database and ConflictError for a cancelled query', async () => {
      // Prepare
      const athena = await AthenaWarehouse.create(options());

      // Act
      const missing = await runQuery(
        athena,
        { sql: 'select 1', database: 'nope' } as never,
        60_000,
        10,
      ).catch((e: unknown) => e);
      const started = await athena.startQuery({
        sql: 'select count(*) as n from range(100000000000) a where a.range % 7 = 3',
      });
      await athena.cancelQuery({ queryId: started.queryId });
      const cancelled = athena.getQueryResults({ queryId: started.queryId });

      // Assess
      expect(missing).toBeInstanceOf(NotFoundError);
      await expect(cancelled).rejects.toBeInstanceOf(ConflictError);
      await athena.close();
    }, 120_000);

    it('fails a query whose result Athena cannot write (ErrorType 401) as unavailable; 206 is a timeout', async () => {
      // Prepare
      const athena = await AthenaWarehouse.create(options({ workGroup: 'lost' }));

      // Act
      const started = await athena.startQuery({ sql: 'select 1 as one' });
      const status = await waitForQuery(athena, started.queryId, 60_000);
      const error = await athena.getQueryResults({ queryId: started.queryId }).catch((e: unknown) => e);
      await athena.close();

      // Assess
      expect(status).toMatchObject({ state: 'failed', failure: { code: 'GENERIC_INTERNAL_ERROR' } });
      expect(engine.queries.get(started.queryId)?.failure).toMatchObject({ category: 1, type: 401 });
      expect(error).toBeInstanceOf(UnavailableError);
      expect(queryError('q', 'FAILED', 'Query timeout', 1, 206)).toBeInstanceOf(TimeoutError);
      expect(queryError('q', 'FAILED', 'Something', 2, 210)).toBeInstanceOf(TimeoutError);
    }, 120_000);

    it('refuses a cursor of another query and a NextToken Athena does not know', async () => {
      // Prepare
      const athena = await AthenaWarehouse.create(options());
      const { status } = await runQuery(athena, { sql: 'select range as n from range(5)' }, 60_000, 1);
      const forged = Buffer.from(JSON.stringify({ q: status.queryId, t: 'bm90LWEtdG9rZW4' })).toString(
        'base64url',
      );
      const other = Buffer.from(JSON.stringify({ q: 'another', t: 'x' })).toString('base64url');

      // Act
      const attempts = await Promise.allSettled([
        athena.getQueryResults({ queryId: status.queryId, cursor: forged }),
        athena.getQueryResults({ queryId: status.queryId, cursor: other }),
      ]);
      await athena.close();

      // Assess
      for (const attempt of attempts) {
        expect((attempt as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
      }
    }, 120_000);
  });
});

describe('Step Functions: a Wait/Choice loop polls a long query', () => {
  it('starts the query in a task, waits, polls get-query until it is final, then reads the first page', async () => {
    // Prepare
    const FN = 'arn:aws:lambda:us-east-1:000000000000:function:circle-core-dev-athena';
    const calls: string[] = [];
    const invoke = async (name: string, payload: unknown): Promise<InvokeOutcome | undefined> => {
      if (name !== FN) return undefined;
      calls.push((payload as { operation: string }).operation);
      try {
        const output = await connector.handler(payload, lambdaContext());
        return { requestId: 'r', durationMs: 0, logTail: '', payload: JSON.stringify(output) };
      } catch (error) {
        const { name: errorType, message: errorMessage } = error as Error;
        return { requestId: 'r', durationMs: 0, logTail: '', error: { errorType, errorMessage } };
      }
    };
    const machines = new StepFunctionsEngine({
      region: 'us-east-1',
      accountId: '000000000000',
      invoke,
      log: createStackLog({ pretty: false, write: () => undefined }),
    });
    const task = (operation: string, input: Record<string, unknown>) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: FN, Payload: { operation, trigger: 'task', input } },
    });
    const machine = machines.create('athena-query-loop', {
      StartAt: 'StartQuery',
      States: {
        StartQuery: {
          ...task('start-query', { 'sql.$': '$.sql', 'params.$': '$.params' }),
          ResultSelector: { 'queryId.$': '$.Payload.queryId', 'state.$': '$.Payload.state' },
          ResultPath: '$.query',
          Next: 'WaitForQuery',
        },
        WaitForQuery: { Type: 'Wait', Seconds: 1, Next: 'PollQuery' },
        PollQuery: {
          ...task('get-query', { 'queryId.$': '$.query.queryId', waitSeconds: 0 }),
          ResultSelector: { 'queryId.$': '$.Payload.queryId', 'state.$': '$.Payload.state' },
          ResultPath: '$.query',
          Next: 'QueryDone',
        },
        QueryDone: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.query.state', StringEquals: 'succeeded', Next: 'ReadResults' },
            {
              Or: [
                { Variable: '$.query.state', StringEquals: 'failed' },
                { Variable: '$.query.state', StringEquals: 'cancelled' },
              ],
              Next: 'QueryFailed',
            },
          ],
          Default: 'WaitForQuery',
        },
        ReadResults: {
          ...task('get-query-results', { 'queryId.$': '$.query.queryId', pageSize: 10 }),
          ResultSelector: { 'rows.$': '$.Payload.rows' },
          ResultPath: '$.results',
          End: true,
        },
        QueryFailed: {
          Type: 'Fail',
          Error: 'QueryFailed',
          Cause: 'The Athena query failed or was cancelled',
        },
      },
    });

    // Act
    const execution = machines.start(
      machine.arn,
      JSON.stringify({
        sql: 'select customer, count(*) as n from orders where id < ? group by customer order by customer',
        params: [30],
      }),
    );
    await execution.done;

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output ?? 'null').results.rows).toEqual([
      ['acme', '10'],
      ['globex', '10'],
      ['initech', '10'],
    ]);
    expect(calls[0]).toBe('start-query');
    expect(calls.filter((call) => call === 'get-query').length).toBeGreaterThanOrEqual(1);
    expect(calls.at(-1)).toBe('get-query-results');
    expect(execution.events.map((event) => event.type)).toContain('WaitStateEntered');
  }, 180_000);
});

describe('Connector', () => {
  it('runs run-query on HTTP, SQS and a task envelope, and answers health', async () => {
    // Act
    const http = (await connector.handler(
      httpEvent({
        method: 'POST',
        path: '/athena/run-query',
        body: { sql: 'select count(*) as n from orders where customer = ?', params: ['acme'] },
      }),
      lambdaContext(),
    )) as HttpResult;
    const queued = await connector.handler(
      sqsEvent([{ body: { operation: 'run-query', input: { sql: 'select 1 as one' } } }]),
      lambdaContext(),
    );
    const task = await connector.handler(
      { trigger: 'task', operation: 'run-query', input: { sql: 'select 2 as two', waitSeconds: 60 } },
      lambdaContext(),
    );
    const health = (await connector.handler(
      httpEvent({ method: 'GET', path: '/athena/health' }),
      lambdaContext(),
    )) as HttpResult;

    // Assess
    expect(http.statusCode).toBe(200);
    expect(JSON.parse(http.body).results.rows).toEqual([['782']]);
    expect(queued).toEqual({ batchItemFailures: [] });
    expect(task).toMatchObject({ status: { state: 'succeeded' }, results: { rows: [[2]] } });
    expect(health.statusCode).toBe(200);
  }, 180_000);

  it('answers 409 naming /idempotencyKey when start-query or run-query reuses a key with other SQL', async () => {
    // Prepare
    const key = `http-${Date.now()}`;
    const call = async (operation: string, body: Record<string, unknown>) =>
      (await connector.handler(
        httpEvent({ method: 'POST', path: `/athena/${operation}`, body }),
        lambdaContext(),
      )) as HttpResult;

    // Act
    const first = await call('start-query', { sql: 'select 1 as a', idempotencyKey: key });
    const same = await call('start-query', { sql: 'select 1 as a', idempotencyKey: key });
    const other = await call('start-query', { sql: 'select 2 as a', idempotencyKey: key });
    const run = await call('run-query', { sql: 'select 3 as a', idempotencyKey: key });

    // Assess
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(same.body).queryId).toBe(JSON.parse(first.body).queryId);
    for (const refused of [other, run]) {
      expect(refused.statusCode).toBe(409);
      expect(refused.body).toContain('/idempotencyKey');
      expect(refused.body).not.toContain(JSON.parse(first.body).queryId);
    }
  }, 120_000);
});

describe('Lambda Managed Instances: concurrent invocations of one warm handler', () => {
  it('answers each of several interleaved invocations with its own query, parameters and result', async () => {
    // Prepare: LMI sends one handler several invocations at once, sharing its module state
    // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html). Each
    // polls the fake while the others wait, so their awaits interleave.
    const customers = ['acme', 'globex', 'initech'];
    const expected = await Promise.all(
      customers.map(async (customer) => {
        const out = (await connector.handler(
          httpEvent({
            method: 'POST',
            path: '/athena/run-query',
            body: {
              sql: 'select count(*) as n, ? as who from orders where customer = ?',
              params: [customer, customer],
            },
          }),
          lambdaContext(),
        )) as HttpResult;
        return JSON.parse(out.body).results.rows;
      }),
    );
    // Act
    const answers = (await Promise.all(
      customers.map((customer, index) =>
        connector.handler(
          httpEvent({
            method: 'POST',
            path: '/athena/run-query',
            body: {
              sql: `select count(*) as n, ? as who, ${index} as slot from orders where customer = ?`,
              params: [customer, customer],
            },
          }),
          lambdaContext({ remainingMs: 60_000 + index * 1_000 }),
        ),
      ),
    )) as HttpResult[];
    // Assess
    answers.forEach((answer, index) => {
      expect(answer.statusCode).toBe(200);
      const [row] = JSON.parse(answer.body).results.rows as unknown[][];
      expect(row?.slice(1)).toEqual([customers[index], index]);
      expect(row?.[0]).toEqual(expected[index][0][0]);
    });
    expect(new Set(expected.map((rows) => rows[0][0])).size).toBeGreaterThan(1);
  }, 180_000);
});

describe('Hardening', () => {
  it('refuses unknown fields naming them, marks only cancel-query a write, and answers and logs no parameter value', async () => {
    // Prepare
    const logs = captureLogs();
    let strict: HttpResult;
    let failed: HttpResult;
    try {
      // Act
      strict = (await connector.handler(
        httpEvent({ method: 'POST', path: '/athena/start-query', body: { sql: 'select 1', extra: true } }),
        lambdaContext(),
      )) as HttpResult;
      failed = (await connector.handler(
        httpEvent({
          method: 'POST',
          path: '/athena/run-query',
          body: { sql: 'select cast(? as integer) as n', params: [PARAM_MARKER] },
        }),
        lambdaContext(),
      )) as HttpResult;
    } finally {
      logs.restore();
    }

    // Assess
    expect(strict.statusCode).toBe(400);
    expect(strict.body).toContain('/extra');
    expect(failed.statusCode).toBe(400);
    expect(failed.body).toContain('INVALID_CAST_ARGUMENT');
    expect(failed.body).not.toContain(PARAM_MARKER);
    expect(logs.text()).not.toContain(PARAM_MARKER);
    const writes = Object.entries(
      (connector as unknown as { runtime: { operations: Record<string, { effect?: string }> } }).runtime
        .operations,
    )
      .filter(([, operation]) => operation.effect === 'write')
      .map(([name]) => name);
    expect(writes).toEqual(['cancel-query']);
  }, 120_000);
});

describe('Review 2026-12-07: integers JSON has already rounded', () => {
  it('refuses an integer parameter beyond 2^53 with a 400 naming it, before starting anything', async () => {
    // Act: 9007199254740993 arrives as 9007199254740992, the neighbouring id.
    const rounded = (await connector.handler(
      httpEvent({
        method: 'POST',
        path: '/athena/run-query',
        body: '{"sql":"select cast(? as bigint) as n","params":[1.5, 9007199254740993]}',
      }),
      lambdaContext(),
    )) as HttpResult;

    // Assess
    expect(rounded.statusCode).toBe(400);
    expect(JSON.parse(rounded.body).errors).toEqual([
      { pointer: '/params/1', message: expect.stringMatching(/beyond 2\^53.*decimal text/) },
    ]);
  });
});

describe('Values', () => {
  it('answers timestamp with time zone in UTC whatever zone Trino printed, keeping its fraction', () => {
    // Act & Assess: Trino prints the wall time in the value's own zone, a region or an offset.
    expect(toJsonValue('2026-07-01 00:30:00.123 America/Los_Angeles', 'timestamp-tz')).toBe(
      '2026-07-01T07:30:00.123Z',
    );
    expect(toJsonValue('2026-01-01 00:30:00.123456 America/Los_Angeles', 'timestamp-tz')).toBe(
      '2026-01-01T08:30:00.123456Z',
    );
    expect(toJsonValue('2026-01-01 01:00:00.000 +05:30', 'timestamp-tz')).toBe('2025-12-31T19:30:00.000Z');
    expect(toJsonValue('1969-12-31 23:00:00.000 -02:00', 'timestamp-tz')).toBe('1970-01-01T01:00:00.000Z');
    expect(toJsonValue('2026-03-29 03:30:00.000 Europe/Berlin', 'timestamp-tz')).toBe(
      '2026-03-29T01:30:00.000Z',
    );
    expect(toJsonValue('0044-03-15 10:00:00.000 +01:00', 'timestamp-tz')).toBe('0044-03-15T09:00:00.000Z');
    expect(toJsonValue('10000-01-01 00:00:00.000 UTC', 'timestamp-tz')).toBe('10000-01-01T00:00:00.000Z');
    expect(toJsonValue('2026-01-02 03:04:05.000 Mars/Olympus', 'timestamp-tz')).toBe(
      '2026-01-02 03:04:05.000 Mars/Olympus',
    );
  });

  it('encodes parameters as literals and Athena text as each kind promises', () => {
    // Assess
    expect(literal(null)).toBe('NULL');
    expect(literal(true)).toBe('true');
    expect(literal(42)).toBe('42');
    expect(literal(0.25)).toBe('2.5e-1');
    expect(() => literal(Number.NaN)).toThrow(ValidationError);
    // An integer beyond 2^53 goes as text: a varchar literal with every digit, for `cast(? as bigint)`.
    expect(literal('9007199254740993')).toBe("'9007199254740993'");
    expect(literal(Number('9007199254740993'))).not.toContain('9007199254740993');
    expect(toJsonValue(undefined, 'string')).toBeNull();
    expect(toJsonValue('NaN', 'float')).toBe('NaN');
    expect(toJsonValue('2026-01-02 03:04:05.000 UTC', 'timestamp-tz')).toBe('2026-01-02T03:04:05.000Z');
    expect(toJsonValue('2026-01-02 03:04:05.000 Europe/Paris', 'timestamp-tz')).toBe(
      '2026-01-02T02:04:05.000Z',
    );
    expect(toJsonValue('68 69', 'binary')).toBe(Buffer.from('hi').toString('base64'));
    expect(toJsonValue('{"a":[1]}', 'json')).toEqual({ a: [1] });
    expect(toJsonValue('{a=1}', 'json')).toBe('{a=1}');
    expect(toJsonValue('[1, 2]', 'other')).toBe('[1, 2]');
    expect(resultColumn({ Name: 'd', Type: 'decimal', Precision: 10, Scale: 2 })).toEqual({
      name: 'd',
      type: 'decimal(10,2)',
      kind: 'decimal',
    });
    expect(resultColumn({ Label: 'x', Type: 'array(integer)' })).toEqual({
      name: 'x',
      type: 'array(integer)',
      kind: 'other',
    });
    expect(scrub("INVALID_CAST_ARGUMENT: Cannot cast 'it''s' to INT", ["'it''s'", '7'])).toBe(
      "INVALID_CAST_ARGUMENT: Cannot cast '?' to INT",
    );
  });

  it('scrubs a value where it stands as a literal and leaves words and numbers that merely contain it', () => {
    // Assess: quoted values always, whatever their length, with SQL's doubled quotes.
    expect(scrub("INVALID_CAST_ARGUMENT: Cannot cast 'abc' to INT", ["'abc'"])).toBe(
      "INVALID_CAST_ARGUMENT: Cannot cast '?' to INT",
    );
    expect(scrub('Cannot cast "x" or "say ""hi""" to INT', ["'x'", `'say "hi"'`])).toBe(
      'Cannot cast "?" or "?" to INT',
    );
    // A short value inside a longer word or number is not a literal.
    const column = 'COLUMN_NOT_FOUND: Referenced column "nocolumn" not found in FROM clause';
    expect(scrub(column, ["'e'"])).toBe(column);
    expect(scrub('expected 1 but found 2', ['1', '2'])).toBe('expected 1 but found 2');
    expect(scrub('value 12345 of 123456 and 1234.5', ['12345'])).toBe('value ? of 123456 and 1234.5');
    // A longer value standing unquoted as a token is scrubbed, also at a sentence's end.
    expect(
      scrub('No user jane.doe@example.com (for jane.doe@example.com.) in xjane.doe@example.com', [
        "'jane.doe@example.com'",
      ]),
    ).toBe('No user ? (for ?.) in xjane.doe@example.com');
  });

  it('the fake refuses a parameter that is more than one literal', async () => {
    // Prepare
    const sdk = new AthenaClient({ endpoint: aws.url, region: 'us-east-1' });

    // Act
    const { QueryExecutionId } = await sdk.send(
      new StartQueryExecutionCommand({
        QueryString: 'select ? as v',
        WorkGroup: 'primary',
        ExecutionParameters: ["'a' || (select 1)"],
      }),
    );
    const athena = await AthenaWarehouse.create(options({ database: 'default' }));
    const status = await waitForQuery(athena, QueryExecutionId as string, 60_000);
    await athena.close();
    sdk.destroy();

    // Assess
    expect(status.state).toBe('failed');
    expect(status.failure?.code).toBe('INVALID_PARAMETER_USAGE');
  }, 120_000);
});

describe('Local stack: the sample catalog', () => {
  it('seeds the sample tables into the S3 store once and answers the README queries over them', async () => {
    // Prepare
    const local = await startLocalAthena(() => s3rver.endpoint);
    const run = async (sql: string, params: string[] = []): Promise<unknown> => {
      const id = local.engine.start({
        sql,
        params,
        database: 'default',
        workGroup: 'primary',
        outputLocation: undefined,
        token: undefined,
      });
      await local.engine.queries.get(id)?.done;
      const query = local.engine.get(id);
      return query.state === 'SUCCEEDED' ? query.rows : query.failure;
    };

    // Act
    const orders = await run(
      'select customer, count(*) as orders from orders where ordered_at >= cast(? as timestamp) group by customer order by customer',
      ["'2026-01-03 00:00:00'"],
    );
    const events = await run('select path, count(*) as views from events group by path order by path');
    const seeded = await objectText('circle-core-local-athena', 'tables/orders/orders.csv');
    await local.close();

    // Assess
    expect(orders).toEqual([
      ['acme', '2'],
      ['globex', '2'],
      ['initech', '1'],
    ]);
    expect(events).toEqual([
      ['/products/p1', '2'],
      ['/products/p2', '1'],
    ]);
    expect(seeded).toBe(await readFile(join(import.meta.dirname, 'sample', 'orders.csv'), 'utf8'));
  }, 120_000);
});
