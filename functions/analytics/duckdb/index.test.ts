/**
 * The DuckDB connector with DuckDB embedded (the real engine, its native binding) and s3rver as the
 * object store: the warehouse-query conformance suite, queries over CSV, NDJSON and Parquet sources from
 * the local directory and from S3, what SQL may not reach, bad SQL, timeouts within the time left, every
 * trigger, and no secret or parameter value in any answer or log line.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PayloadTooLargeError } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeWarehouseQueryConformance } from '#shared/interfaces/warehouse-query.conformance.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { DuckDbClient, type DuckDbClientOptions } from './client.ts';

const SAMPLE = join(import.meta.dirname, 'sample');
/** The AWS secret key: s3rver accepts a key whose secret equals its id, so the marker is both. */
const MARKER = 'duckdb-marker-8f2c1e';
const PARAM_MARKER = 'param-marker-77ab';

interface HttpResult {
  statusCode: number;
  body: string;
}

let s3rver: S3rverPeer;
let temp: string;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

function options(overrides: Partial<DuckDbClientOptions> = {}): DuckDbClientOptions {
  return {
    memoryLimitMb: 256,
    threads: 1,
    tempDirectory: join(temp, `client-${Math.random().toString(36).slice(2)}`),
    localDirectory: SAMPLE,
    sourceBuckets: ['lake'],
    s3Endpoint: s3rver.endpoint,
    s3ForcePathStyle: true,
    sourceMaxBytes: 10_000,
    s3TimeoutMs: 5_000,
    maxResultRows: 5_000,
    resultTtlSeconds: 60,
    maxQueries: 50,
    defaultTimeoutSeconds: 60,
    ...overrides,
  };
}

async function call(operation: string, body: unknown, remainingMs?: number): Promise<HttpResult> {
  const event = httpEvent({ path: `/duckdb/${operation}`, body });
  const context = lambdaContext(remainingMs === undefined ? {} : { remainingMs });
  return (await connector.handler(event, context)) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'duckdb-test-'));
  s3rver = await startS3rver({ buckets: ['lake', 'other'], accessKeyIds: [MARKER] });
  const s3 = new S3Client({
    endpoint: s3rver.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: MARKER, secretAccessKey: MARKER },
  });
  for (const name of ['orders.csv', 'events.ndjson', 'products.parquet']) {
    const body = await readFile(join(SAMPLE, name));
    await s3.send(new PutObjectCommand({ Bucket: 'lake', Key: `raw/${name}`, Body: body }));
  }
  const csv = await readFile(join(SAMPLE, 'orders.csv'));
  await s3.send(new PutObjectCommand({ Bucket: 'lake', Key: 'raw/orders.csv.gz', Body: gzipSync(csv) }));
  await s3.send(new PutObjectCommand({ Bucket: 'lake', Key: 'big.csv', Body: 'n\n'.padEnd(20_000, '1\n') }));
  s3.destroy();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: MARKER,
    AWS_SECRET_ACCESS_KEY: MARKER,
    DUCKDB_TEMP_DIRECTORY: join(temp, 'handler'),
    DUCKDB_LOCAL_DIRECTORY: SAMPLE,
    DUCKDB_SOURCE_BUCKETS: 'lake',
    DUCKDB_S3_ENDPOINT: s3rver.endpoint,
    DUCKDB_S3_FORCE_PATH_STYLE: 'true',
    DUCKDB_MAX_RESULT_ROWS: '1000',
    DUCKDB_THREADS: '1',
    DUCKDB_SOURCE_MAX_BYTES: '10000',
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await s3rver?.close();
  await rm(temp, { recursive: true, force: true });
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: duckdb', () => {
  describeWarehouseQueryConformance('DuckDbClient (embedded)', async () => {
    const warehouse = new DuckDbClient(options());
    return {
      warehouse,
      series: (count) => `select range::integer as n from range(${count}) order by n`,
      slowSql: 'select count(*) as n from range(100000000000) a where a.range % 7 = 3',
      missingTableSql: 'select * from no_such_table',
      cleanup: () => warehouse.close(),
    };
  });

  describe('Sources: CSV, NDJSON and Parquet', () => {
    it('joins the three formats from the local directory in one query', async () => {
      // Act
      const response = await call('run-query', {
        sql:
          'select o.customer, p.name, count(e.path) as views from orders o join products p using (product_id) ' +
          'left join events e on e.customer = o.customer and e.path = ? || o.product_id ' +
          'where o.amount > ? group by all order by o.customer, p.name',
        params: ['/products/', 100],
        sources: [
          { name: 'orders', url: 'file:orders.csv' },
          { name: 'events', url: 'file:events.ndjson' },
          { name: 'products', url: 'file:products.parquet' },
        ],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      const body = parsed(response) as {
        status: { state: string };
        results: { rows: unknown[][]; columns: unknown[] };
      };
      expect(body.status.state).toBe('succeeded');
      expect(body.results.columns).toEqual([
        { name: 'customer', type: 'VARCHAR', kind: 'string' },
        { name: 'name', type: 'VARCHAR', kind: 'string' },
        { name: 'views', type: 'BIGINT', kind: 'bigint' },
      ]);
      expect(body.results.rows).toEqual([
        ['acme', 'Gadget Pro', '0'],
        ['globex', 'Gadget Pro', '1'],
      ]);
    });

    it('reads the same objects from S3, a gzipped CSV too', async () => {
      // Act
      const response = await call('run-query', {
        sql:
          'select (select count(*) from orders)::integer as orders, (select count(*) from zipped)::integer as zipped, ' +
          '(select count(*) from events)::integer as events, (select sum(price) from products) as prices',
        sources: [
          { name: 'orders', url: 's3://lake/raw/orders.csv' },
          { name: 'zipped', url: 's3://lake/raw/orders.csv.gz' },
          { name: 'events', url: 's3://lake/raw/events.ndjson' },
          { name: 'products', url: 's3://lake/raw/products.parquet' },
        ],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      const body = parsed(response) as { results: { rows: unknown[][] } };
      expect(body.results.rows).toEqual([[6, 6, 6, '261.45']]);
    });

    it('refuses a bucket outside DUCKDB_SOURCE_BUCKETS, a missing object and an object over the limit', async () => {
      // Act
      const other = await call('run-query', {
        sql: 'select 1',
        sources: [{ name: 'x', url: 's3://other/a.csv' }],
      });
      const missing = await call('run-query', {
        sql: 'select 1',
        sources: [{ name: 'x', url: 's3://lake/none.csv' }],
      });
      const big = await call('run-query', {
        sql: 'select 1',
        sources: [{ name: 'x', url: 's3://lake/big.csv' }],
      });

      // Assess
      expect(other.statusCode).toBe(403);
      expect(parsed(other)['detail']).toContain('DUCKDB_SOURCE_BUCKETS');
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('none.csv');
      expect(big.statusCode).toBe(413);
    });

    it('lets SQL open no file itself and no source leave the local directory', async () => {
      // Act
      const direct = await call('run-query', { sql: "select * from read_csv('/etc/passwd')" });
      const outside = await call('run-query', {
        sql: 'select 1',
        sources: [{ name: 'x', url: 'file:../../x.csv' }],
      });
      const install = await call('run-query', { sql: 'install httpfs' });

      // Assess
      expect(direct.statusCode).toBe(403);
      expect(outside.statusCode).toBe(400);
      expect(install.statusCode).toBe(403);
    });
  });

  describe('Values', () => {
    it('encodes nested, binary, zoned and other DuckDB values as their kinds say', async () => {
      // Act
      const response = await call('run-query', {
        sql:
          "select [1, 2] as l, {'a': 42, 'b': [timestamp '2026-01-02 03:04:05']} as st, map {'k': 9007199254740993} as m, " +
          "'\\x01\\xff'::blob as bl, timestamptz '2026-01-02 03:04:05.25+02' as tz, time '10:11:12' as t, " +
          "interval 3 day as iv, '{\"x\": [1]}'::json as j, 'inf'::double as f, 3::hugeint as h, " +
          "'8d3e4c6a-0000-4000-8000-000000000001'::uuid as u",
      });

      // Assess
      expect(response.statusCode).toBe(200);
      const body = parsed(response) as { results: { rows: unknown[][]; columns: { kind: string }[] } };
      expect(body.results.columns.map((column) => column.kind)).toEqual([
        'list',
        'struct',
        'map',
        'binary',
        'timestamp-tz',
        'time',
        'interval',
        'json',
        'float',
        'bigint',
        'string',
      ]);
      expect(body.results.rows).toEqual([
        [
          [1, 2],
          { a: 42, b: ['2026-01-02T03:04:05'] },
          [{ key: 'k', value: '9007199254740993' }],
          'Af8=',
          '2026-01-02T01:04:05.250000Z',
          '10:11:12',
          '3 days',
          { x: [1] },
          'Infinity',
          '3',
          '8d3e4c6a-0000-4000-8000-000000000001',
        ],
      ]);
    });
  });

  describe('Failures', () => {
    it('answers 400 naming the problem for bad SQL, two statements and a result too large', async () => {
      // Act
      const syntax = await call('run-query', { sql: 'selec 1' });
      const two = await call('run-query', { sql: 'select 1; select 2' });
      const large = await call('run-query', { sql: 'select range from range(1001)' });

      // Assess
      expect(syntax.statusCode).toBe(400);
      expect(parsed(syntax)['detail']).toMatch(/Parser Error: syntax error at or near "selec"/);
      expect(two.statusCode).toBe(400);
      expect(parsed(two)['detail']).toContain('2 statements');
      expect(large.statusCode).toBe(400);
      expect(parsed(large)['detail']).toContain('DUCKDB_MAX_RESULT_ROWS');
    });

    it('answers 400 for SQL DuckDB refuses at run time and 404 for a function of an extension it does not load', async () => {
      // Act
      const overflow = await call('run-query', { sql: 'select 2147483647::integer + 1::integer as n' });
      const mismatch = await call('run-query', { sql: "select [1] = 'a' as n" });
      const extension = await call('run-query', { sql: "select * from read_xlsx('x.xlsx')" });

      // Assess
      expect(overflow.statusCode).toBe(400);
      expect(parsed(overflow)['detail']).toMatch(/Out of Range Error: Overflow/);
      expect(mismatch.statusCode).toBe(400);
      expect(extension.statusCode).toBe(404);
      expect(parsed(extension)['detail']).toContain('excel extension');
    });

    it('refuses an integer parameter JSON has already rounded (beyond 2^53) with a 400 naming it, keeping floats', async () => {
      // Prepare: 9007199254740993 arrives as 9007199254740992, the neighbouring id.
      const sql = 'select count(*) as n from (values (9007199254740992::bigint)) t(id) where id = ?';

      // Act
      const rounded = await call('run-query', `{"sql":"${sql}","params":[9007199254740993]}`);
      const nested = await call('run-query', '{"sql":"select ?, ?","params":[1.5, -18446744073709551616]}');
      const exact = await call('run-query', { sql, params: ['9007199254740993'] });
      const floats = await call('run-query', {
        sql: 'select ? as a, ? as b, ? as c',
        params: [1e20, 1.5, 2 ** 53 - 1],
      });

      // Assess
      expect(rounded.statusCode).toBe(400);
      expect(parsed(rounded)['errors']).toEqual([
        { pointer: '/params/0', message: expect.stringMatching(/beyond 2\^53.*decimal text/) },
      ]);
      expect(parsed(nested)['errors']).toEqual([{ pointer: '/params/1', message: expect.any(String) }]);
      expect(exact.statusCode).toBe(200);
      expect((parsed(exact)['results'] as { rows: unknown[][] }).rows).toEqual([['0']]);
      expect(floats.statusCode).toBe(200);
      expect((parsed(floats)['results'] as { rows: unknown[][] }).rows).toEqual([
        [1e20, 1.5, String(2 ** 53 - 1)],
      ]);
    });

    it('answers 400 naming an unknown field', async () => {
      // Act
      const response = await call('run-query', { sql: 'select 1', parms: [] });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([{ pointer: '/parms', message: 'unknown field' }]);
    });

    it('answers the handle of a query still running when the time left runs out, then cancels it', async () => {
      // Prepare
      const started = Date.now();

      // Act
      const response = await call(
        'run-query',
        { sql: 'select count(*) from range(100000000000) a where a.range % 7 = 3', waitSeconds: 60 },
        3_000,
      );
      const elapsed = Date.now() - started;
      const body = parsed(response) as { status: { queryId: string; state: string }; results: unknown };
      const cancelled = await call('cancel-query', { queryId: body.status.queryId });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(body.status.state).toBe('running');
      expect(body.results).toBeNull();
      expect(elapsed).toBeLessThan(3_000);
      expect(parsed(cancelled)['state']).toBe('cancelled');
    });

    it('never shows a secret or a parameter value in an answer or a log line', async () => {
      // Act
      const conversion = await call('run-query', {
        sql: 'select cast(? as integer) as n',
        params: [PARAM_MARKER],
      });
      const missing = await call('run-query', {
        sql: 'select 1',
        sources: [{ name: 'x', url: 's3://lake/gone.csv' }],
      });
      const ok = await call('run-query', {
        sql: 'select 1 as one',
        sources: [{ name: 'o', url: 's3://lake/raw/orders.csv' }],
      });

      // Assess
      expect(conversion.statusCode).toBe(400);
      expect(parsed(conversion)['detail']).toContain("string '?'");
      expect(missing.statusCode).toBe(404);
      expect(ok.statusCode).toBe(200);
      for (const text of [conversion.body, missing.body, ok.body, logs.text()]) {
        expect(text).not.toContain(MARKER);
        expect(text).not.toContain(PARAM_MARKER);
      }
    });
  });

  describe("Lambda's /tmp", () => {
    it('fails an S3 source larger than the free space under the temp directory with a 413, leaving no file', async (test) => {
      // Prepare: a 2 MiB tmpfs as the temp directory (Lambda's /tmp, full) and a 3 MB source.
      const tiny = join(temp, 'tiny');
      await mkdir(tiny, { recursive: true });
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', tiny], { stdio: 'ignore' });
      } catch {
        test.skip('needs root to mount a 2 MiB tmpfs');
      }
      try {
        const s3 = new S3Client({
          endpoint: s3rver.endpoint,
          forcePathStyle: true,
          region: 'us-east-1',
          credentials: { accessKeyId: MARKER, secretAccessKey: MARKER },
        });
        await s3.send(
          new PutObjectCommand({ Bucket: 'lake', Key: 'huge.csv', Body: 'n\n'.padEnd(3_000_000, '7\n') }),
        );
        s3.destroy();
        const warehouse = new DuckDbClient(options({ tempDirectory: tiny, sourceMaxBytes: 10_000_000 }));

        // Act
        const error = await warehouse
          .startQuery({ sql: 'select count(*) from h', sources: [{ name: 'h', url: 's3://lake/huge.csv' }] })
          .catch((caught: unknown) => caught);
        const left = await readdir(join(tiny, 'sources'));
        await warehouse.close();

        // Assess
        expect(error).toBeInstanceOf(PayloadTooLargeError);
        expect((error as Error).message).toMatch(/DUCKDB_TEMP_DIRECTORY.*ephemeral storage/s);
        expect(left).toEqual([]);
      } finally {
        execFileSync('umount', [tiny]);
      }
    });
  });

  describe('Triggers', () => {
    it('starts, polls and pages a query over HTTP', async () => {
      // Act
      const started = parsed(await call('start-query', { sql: 'select range::integer as n from range(5)' }));
      const status = parsed(await call('get-query', { queryId: started['queryId'], waitSeconds: 10 }));
      const first = parsed(await call('get-query-results', { queryId: started['queryId'], pageSize: 3 }));
      const second = parsed(
        await call('get-query-results', {
          queryId: started['queryId'],
          pageSize: 3,
          cursor: first['nextCursor'],
        }),
      );

      // Assess
      expect(status['state']).toBe('succeeded');
      expect(status['rowCount']).toBe(5);
      expect(first['rows']).toEqual([[0], [1], [2]]);
      expect(second['rows']).toEqual([[3], [4]]);
      expect(second['nextCursor']).toBeNull();
    });

    it('runs as a library, outside Lambda', async () => {
      // Act
      const out = (await connector.run('run-query', {
        sql: 'select cast(? as decimal(10,2)) as price',
        params: ['9.5'],
      })) as { results: { rows: unknown[][] } | null };

      // Assess
      expect(out.results?.rows).toEqual([['9.50']]);
    });

    it('runs a queued request and reports no failed record', async () => {
      // Act
      const event = sqsEvent([{ body: { operation: 'run-query', input: { sql: 'select 1 as one' } } }]);
      const result = await connector.handler(event, lambdaContext());

      // Assess
      expect(result).toEqual({ batchItemFailures: [] });
    });

    it('runs a Step Functions task envelope and answers health', async () => {
      // Act
      const output = (await connector.handler(
        { operation: 'run-query', input: { sql: 'select ? as greeting', params: ['hello'] } },
        lambdaContext(),
      )) as { results: { rows: unknown[][] } };
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/duckdb/health' }),
        lambdaContext(),
      );

      // Assess
      expect(output.results.rows).toEqual([['hello']]);
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
