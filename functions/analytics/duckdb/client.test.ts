/**
 * The DuckDB client's own edges, with DuckDB embedded and no object store: sources named or placed wrongly,
 * statements that change rows, results forgotten after their time, closing, values the interface has no
 * kind for, and DuckDB messages of a class the error table does not name.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  TimeoutError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuery } from '#shared/interfaces/warehouse-query-operations.ts';
import { ColumnKind } from '#shared/models/warehouse-query.ts';
import { DuckDbClient, type DuckDbClientOptions } from './client.ts';
import { DuckdbConfig } from './config.ts';
import { scrubMessage, toDuckdbError } from './errors.ts';
import type { DuckDbStartQueryInput } from './models.ts';

const SAMPLE = join(import.meta.dirname, 'sample');

let temp: string;
let local: string;
const clients: DuckDbClient[] = [];

function client(overrides: Partial<DuckDbClientOptions> = {}): DuckDbClient {
  const created = new DuckDbClient({
    memoryLimitMb: 256,
    threads: 1,
    tempDirectory: join(temp, `client-${clients.length}`),
    localDirectory: local,
    sourceBuckets: [],
    s3ForcePathStyle: true,
    sourceMaxBytes: 10_000,
    s3TimeoutMs: 5_000,
    maxResultRows: 5_000,
    maxResultBytes: 67_108_864,
    resultTtlSeconds: 60,
    maxQueries: 50,
    defaultTimeoutSeconds: 60,
    ...overrides,
  });
  clients.push(created);
  return created;
}

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'duckdb-client-test-'));
  local = join(temp, 'local');
  await mkdir(local);
  // A CSV whose name says nothing of its format.
  await copyFile(join(SAMPLE, 'orders.csv'), join(local, 'orders.txt'));
});

afterAll(async () => {
  for (const each of clients) await each.close();
  await rm(temp, { recursive: true, force: true });
});

describe('Class: DuckDbClient', () => {
  describe('Method: startQuery', () => {
    it('reads a source in the format given when its name says none, and refuses it when neither says', async () => {
      // Prepare
      const duck = client();
      const withFormat: DuckDbStartQueryInput = {
        sql: 'select count(*)::integer as n from o',
        sources: [{ name: 'o', url: 'file:orders.txt', format: 'csv' }],
      };

      // Act
      const given = await runQuery(duck, withFormat, 20_000, 10);
      const unsaid = duck.startQuery({ sql: 'select 1', sources: [{ name: 'o', url: 'file:orders.txt' }] });

      // Assess
      expect(given.results?.rows).toEqual([[6]]);
      await expect(unsaid).rejects.toThrow(ValidationError);
      await expect(unsaid).rejects.toThrow('say its format');
    });

    it('throws ValidationError when two sources share a name', async () => {
      // Prepare
      const duck = client();

      // Act
      const started = duck.startQuery({
        sql: 'select 1',
        sources: [
          { name: 'o', url: 'file:orders.txt', format: 'csv' },
          { name: 'o', url: 'file:orders.txt', format: 'csv' },
        ],
      });

      // Assess
      await expect(started).rejects.toThrow(ValidationError);
      await expect(started).rejects.toThrow('Two sources are named "o"');
    });

    it('throws ForbiddenError for a file: source when no local directory is set', async () => {
      // Prepare
      const duck = client({ localDirectory: undefined });

      // Act
      const started = duck.startQuery({
        sql: 'select 1',
        sources: [{ name: 'o', url: 'file:orders.txt', format: 'csv' }],
      });

      // Assess
      await expect(started).rejects.toThrow(ForbiddenError);
      await expect(started).rejects.toThrow('DUCKDB_LOCAL_DIRECTORY is not set');
    });

    it('counts the rows a write changed as its rowCount, and none for a statement that answers nothing', async () => {
      // Prepare
      const duck = client();

      // Act
      const created = await runQuery(duck, { sql: 'create table changed_rows (a integer)' }, 20_000, 10);
      const inserted = await runQuery(
        duck,
        { sql: 'insert into changed_rows values (1), (2), (3)' },
        20_000,
        10,
      );
      const deleted = await runQuery(duck, { sql: 'delete from changed_rows where a > 1' }, 20_000, 10);

      // Assess
      expect(created.status.rowCount).toBe(0);
      expect(inserted.status.state).toBe('succeeded');
      expect(inserted.status.rowCount).toBe(3);
      expect(deleted.status.rowCount).toBe(2);
    });
  });

  describe('Method: getQuery', () => {
    it('forgets a query and its idempotency key once its result time has passed', async () => {
      // Prepare
      let clock = Date.parse('2026-12-06T12:00:00Z');
      const duck = client({ resultTtlSeconds: 30, now: () => clock });
      const first = await runQuery(duck, { sql: 'select 1 as one', idempotencyKey: 'k-1' }, 20_000, 10);
      const again = await duck.startQuery({ sql: 'select 1 as one', idempotencyKey: 'k-1' });

      // Act
      clock += 30_000;
      const forgotten = await duck
        .getQuery({ queryId: first.status.queryId })
        .catch((error: unknown) => error);
      const after = await duck.startQuery({ sql: 'select 1 as one', idempotencyKey: 'k-1' });

      // Assess
      expect(again.queryId).toBe(first.status.queryId);
      expect(forgotten).toBeInstanceOf(NotFoundError);
      expect(after.queryId).not.toBe(first.status.queryId);
    });
  });

  describe('Method: close', () => {
    it('closes a client that never opened, which opens again when used', async () => {
      // Prepare
      const duck = client();

      // Act
      await duck.close();
      const out = await runQuery(duck, { sql: 'select 2 as two' }, 20_000, 10);

      // Assess
      expect(out.results?.rows).toEqual([[2]]);
    });

    it('stops a running query and forgets it', async () => {
      // Prepare
      const duck = client();
      const started = await duck.startQuery({
        sql: 'select count(*) as n from range(100000000000) a where a.range % 7 = 3',
      });

      // Act
      await duck.close();

      // Assess
      await expect(duck.getQuery({ queryId: started.queryId })).rejects.toThrow(NotFoundError);
    });
  });

  describe('Values', () => {
    it('answers a type with no kind as text, a whole-second zoned time without fraction, and nested integers by size', async () => {
      // Prepare
      const duck = client();

      // Act
      const out = await runQuery(
        duck,
        {
          sql:
            "select '101'::bit as b, timestamptz '2026-01-02 03:04:05+00' as tz, " +
            '[1::bigint, 3000000000::bigint, -3000000000::bigint, null] as l',
        },
        20_000,
        10,
      );

      // Assess
      expect(out.results?.columns.map((column) => column.kind)).toEqual(['other', 'timestamp-tz', 'list']);
      expect(out.results?.rows).toEqual([
        ['101', '2026-01-02T03:04:05Z', [1, '3000000000', '-3000000000', null]],
      ]);
    });

    it('binds an integer beyond 2^53 given as decimal text exactly to BIGINT, HUGEINT and DECIMAL columns', async () => {
      // Prepare: the same value as a JSON number has already lost its last digit.
      const duck = client();
      const big = '9007199254740993';

      // Act
      const out = await runQuery(
        duck,
        {
          sql:
            'select id, id + 1 as next, wide, exact from (values (9007199254740993::bigint, ' +
            '170141183460469231731687303715884105727::hugeint, 12345678901234567890.5::decimal(38,1))) t(id, wide, exact) ' +
            'where id = ? and wide = ? and exact = ?',
          params: [big, '170141183460469231731687303715884105727', '12345678901234567890.5'],
        },
        20_000,
        10,
      );
      const count = (param: string | number) =>
        runQuery(
          duck,
          {
            sql: 'select count(*)::integer as n from (values (9007199254740992::bigint), (9007199254740993::bigint)) t(id) where id = ?',
            params: [param],
          },
          20_000,
          10,
        );
      const [asText, asNumber] = [await count(big), await count(Number(big))];

      // Assess: the text matched every column exactly; the number (bound as a DOUBLE) matched two ids.
      expect(out.results?.rows).toEqual([
        [big, '9007199254740994', '170141183460469231731687303715884105727', '12345678901234567890.5'],
      ]);
      expect(asText.results?.rows).toEqual([[1]]);
      expect(asNumber.results?.rows).toEqual([[2]]);
    });

    it('answers TIMESTAMP_NS and TIME_NS with their nanoseconds, in the format the interface documents', async () => {
      // Prepare: the documented format of a kind, read from the schema description the docs are made from.
      const documented = (kind: 'time' | 'timestamp'): RegExp => {
        const format = new RegExp(`${kind} "([^"]+)"`).exec(ColumnKind.description ?? '')?.[1] ?? '';
        const digits = /\[\.(f+)\]/.exec(format)?.[1]?.length ?? 0;
        const base = format
          .replace(/\[\.f+\]/, '')
          .replace('YYYY', '-?\\d{4,}')
          .replace(/MM|DD|HH|SS/g, '\\d\\d');
        return new RegExp(`^${base}(\\.\\d{1,${digits}})?$`);
      };
      const duck = client();

      // Act
      const out = await runQuery(
        duck,
        {
          sql:
            "select '2026-01-02 03:04:05.123456789'::timestamp_ns as ns, '1969-12-31 23:59:59.000000001'::timestamp_ns as before, " +
            "'03:04:05.000000007'::time_ns as t, '2026-01-02 03:04:05.5'::timestamp as micro, '2026-01-02 03:04:05.12'::timestamp_ms as ms",
        },
        20_000,
        10,
      );

      // Assess: nothing cut, and every value within the documented format.
      const row = out.results?.rows[0] ?? [];
      expect(row).toEqual([
        '2026-01-02T03:04:05.123456789',
        '1969-12-31T23:59:59.000000001',
        '03:04:05.000000007',
        '2026-01-02T03:04:05.5',
        '2026-01-02T03:04:05.12',
      ]);
      const kinds = out.results?.columns.map((column) => column.kind) ?? [];
      expect(kinds).toEqual(['timestamp', 'timestamp', 'time', 'timestamp', 'timestamp']);
      row.forEach((value, i) => {
        expect(value).toMatch(documented(kinds[i] as 'time' | 'timestamp'));
      });
    });
  });
});

/** A 2 MiB tmpfs as the temp directory (Lambda's /tmp, full), when this process may mount one (root). */
function mountTinyTmpfs(path: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe("Class: DuckDbClient (Lambda's limits)", () => {
  const tiny = join(tmpdir(), `duckdb-tiny-${process.pid}`);
  let mounted = false;

  beforeAll(async () => {
    await mkdir(tiny, { recursive: true });
    mounted = mountTinyTmpfs(tiny);
  });

  afterAll(async () => {
    if (mounted) execFileSync('umount', [tiny]);
    await rm(tiny, { recursive: true, force: true });
  });

  it('fails a query whose spill outgrows the temp directory with a 413 naming ephemeral storage', async (test) => {
    if (!mounted) test.skip('needs root to mount a 2 MiB tmpfs');
    // Prepare: 32 MiB of memory, 2 MiB of disk; a DISTINCT over 3 million strings spills far beyond both.
    const duck = client({ memoryLimitMb: 32, tempDirectory: join(tiny, 'spill-test') });
    const sql =
      "select count(*) from (select distinct (i::varchar || repeat('x', 40)) from range(3000000) t(i))";

    // Act
    const failed = runQuery(duck, { sql }, 60_000, 10);

    // Assess
    const error = (await failed.catch((caught: unknown) => caught)) as PayloadTooLargeError;
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/DUCKDB_TEMP_DIRECTORY.*ephemeral storage/s);
    expect(error.message).not.toMatch(/SET threads|PRAGMA/);
  }, 60_000);

  it('fails a query that needs more memory than it may use, and cannot spill, with a 413 naming the limit', async () => {
    // Prepare: one list of 3 million strings must be whole in memory.
    const duck = client({ memoryLimitMb: 32 });
    const sql = "select len(list(i::varchar || repeat('z', 30))) from range(3000000) t(i)";

    // Act
    const error = (await runQuery(duck, { sql }, 60_000, 10).catch((caught: unknown) => caught)) as Error;

    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toMatch(/DUCKDB_MEMORY_LIMIT_MB \(32 MiB\).*memorySize/s);
    expect(error.message).not.toMatch(/SET threads|memory_limit/);
  }, 60_000);

  it('fails a result larger than DUCKDB_MAX_RESULT_BYTES with a 413 instead of holding it all in memory', async () => {
    // Prepare: 40 rows of 100 kB each, 4 MB in all, over a 1 MiB limit.
    const duck = client({ maxResultBytes: 1_048_576 });

    // Act
    const error = (await runQuery(
      duck,
      { sql: "select repeat('x', 100000) from range(40)" },
      60_000,
      10,
    ).catch((caught: unknown) => caught)) as Error;
    const small = await runQuery(duck, { sql: "select repeat('x', 100000) from range(5)" }, 60_000, 10);

    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toMatch(/DUCKDB_MAX_RESULT_BYTES \(1048576 bytes\)/);
    expect(small.results?.rows).toHaveLength(5);
  }, 60_000);
});

describe('Function: toDuckdbError', () => {
  it('maps a class the table does not name to ValidationError, keeping the class as code', () => {
    // Act
    const error = toDuckdbError(new Error('Dependency Error: table t is used by view v'), 'query');

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain('DuckDB refused the SQL');
    expect(error.details).toMatchObject({ code: 'Dependency' });
  });

  it('maps a message naming no class, or a thrown non-Error, to UnexpectedResponseError', () => {
    // Act
    const unnamed = toDuckdbError(new Error('something odd happened'), 'open');
    const thrown = toDuckdbError('INTERRUPT Error: Interrupted!', 'query');

    // Assess
    expect(unnamed).toBeInstanceOf(UnexpectedResponseError);
    expect(unnamed.message).toBe('DuckDB open failed: something odd happened');
    expect(unnamed.details).toMatchObject({ code: 'unknown' });
    expect(thrown).toBeInstanceOf(TimeoutError);
  });
});

describe('Function: scrubMessage', () => {
  it('takes out quoted string values, and long ones unquoted too, leaving numbers and empty strings', () => {
    // Act
    const text = scrubMessage("Conversion Error: 'ab' then ab, 'abcd' then abcd, 42 and ''", [
      42,
      '',
      'ab',
      'abcd',
    ]);

    // Assess
    expect(text).toBe("Conversion Error: '?' then ab, '?' then ?, 42 and ''");
  });
});

describe('Config: DuckdbConfig', () => {
  it('reads an empty DUCKDB_LOCAL_DIRECTORY as unset', () => {
    // Act
    const empty = DuckdbConfig.parse({ DUCKDB_LOCAL_DIRECTORY: '' });
    const set = DuckdbConfig.parse({ DUCKDB_LOCAL_DIRECTORY: '/data' });

    // Assess
    expect(empty.DUCKDB_LOCAL_DIRECTORY).toBeUndefined();
    expect(set.DUCKDB_LOCAL_DIRECTORY).toBe('/data');
  });
});

describe('Class: DuckDbClient (time zone)', () => {
  it('answers the same dates and instants when the process runs west of UTC: the session zone is UTC', async () => {
    // Prepare: a child process in Los Angeles (DuckDB takes its session zone from the process otherwise).
    const script = join(temp, 'zone.mts');
    await writeFile(
      script,
      `import { DuckDbClient } from ${JSON.stringify(join(import.meta.dirname, 'client.ts'))};
import { runQuery } from ${JSON.stringify(join(import.meta.dirname, '../../../shared/interfaces/warehouse-query-operations.ts'))};
const duck = new DuckDbClient({ memoryLimitMb: 256, threads: 1, tempDirectory: ${JSON.stringify(join(temp, 'zone'))},
  sourceBuckets: [], s3ForcePathStyle: true, sourceMaxBytes: 10_000, s3TimeoutMs: 5_000, maxResultRows: 10,
  resultTtlSeconds: 60, maxQueries: 5, defaultTimeoutSeconds: 60 });
const sql = "select timestamptz '2026-01-01 00:00:00' as bare, cast(timestamptz '2026-01-01 02:00:00+00' as date) as day, " +
  "cast(timestamptz '2026-01-01 02:00:00+00' as timestamp) as wall, cast(? as timestamptz) as param, cast(? as date) as d";
const result = await runQuery(duck, { sql, params: ['2026-03-08 10:30:00', '1969-12-31'] }, 20_000, 10);
await duck.close();
process.stdout.write(JSON.stringify(result.results?.rows));
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
      ['2026-01-01T00:00:00Z', '2026-01-01', '2026-01-01T02:00:00', '2026-03-08T10:30:00Z', '1969-12-31'],
    ]);
  }, 30_000);
});

describe('Class: DuckDbClient (Lambda Managed Instances)', () => {
  it('starts one query for interleaved starts with the same idempotency key, answering each its handle', async () => {
    // Prepare: a retry arrives while the first start is still opening the database.
    const duck = client();
    const input = { sql: 'select 42 as answer', idempotencyKey: 'lmi-same-key' };
    // Act
    const [first, second] = await Promise.all([duck.startQuery(input), duck.startQuery(input)]);
    const again = await duck.startQuery(input);
    // Assess
    expect(second.queryId).toBe(first.queryId);
    expect(again.queryId).toBe(first.queryId);
  });

  it('gives interleaved queries of one client sources of the same name each its own file and view', async () => {
    // Prepare: one warm client takes several invocations at once; each names its source "o".
    const duck = client();
    await writeFile(join(local, 'three.csv'), 'x\n1\n2\n3\n');
    await writeFile(join(local, 'five.csv'), 'x\n10\n20\n30\n40\n50\n');
    const ask = (file: string, tag: number) => {
      const input: DuckDbStartQueryInput = {
        sql: 'select count(*)::integer as n, sum(x)::integer as s, ? as tag from o',
        params: [tag],
        sources: [{ name: 'o', url: `file:${file}` }],
      };
      return runQuery(duck, input, 20_000, 5);
    };
    // Act
    const answers = await Promise.all([
      ask('three.csv', 1),
      ask('five.csv', 2),
      ask('three.csv', 3),
      ask('five.csv', 4),
    ]);
    // Assess
    expect(answers.map((answer) => answer.results?.rows)).toEqual([
      [[3, 6, '1']],
      [[5, 150, '2']],
      [[3, 6, '3']],
      [[5, 150, '4']],
    ]);
  });

  it('lets two clients of one environment spill at once under the same DUCKDB_TEMP_DIRECTORY, each answering its own result', async () => {
    // Prepare: on Lambda Managed Instances every worker thread initialises its own client, all with the
    // same DUCKDB_TEMP_DIRECTORY, and /tmp is shared by all of them
    // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html). Two clients
    // in one process stand for two workers; 64 MiB each makes the ORDER BY spill. A child process, because
    // spill files two databases share corrupt each other or crash the process.
    const script = join(temp, 'workers.mts');
    const shared = join(temp, 'lmi');
    await writeFile(
      script,
      `import { DuckDbClient } from ${JSON.stringify(join(import.meta.dirname, 'client.ts'))};
import { runQuery } from ${JSON.stringify(join(import.meta.dirname, '../../../shared/interfaces/warehouse-query-operations.ts'))};
const worker = () => new DuckDbClient({ memoryLimitMb: 64, threads: 1, tempDirectory: ${JSON.stringify(shared)},
  sourceBuckets: [], s3ForcePathStyle: true, sourceMaxBytes: 10_000, s3TimeoutMs: 5_000, maxResultRows: 10,
  resultTtlSeconds: 60, maxQueries: 5, defaultTimeoutSeconds: 120 });
const first = worker();
const second = worker();
const sql = (width: number) => "select count(*) as n, sum(length(s)) as chars from (select i::varchar || repeat('x', " +
  width + ") as s from range(1500000) t(i) order by s desc)";
const answers = await Promise.all([
  runQuery(first, { sql: sql(60) }, 120_000, 20).then((out) => out.results?.rows, (error) => String(error)),
  runQuery(second, { sql: sql(61) }, 120_000, 20).then((out) => out.results?.rows, (error) => String(error)),
]);
await first.close();
await second.close();
process.stdout.write(JSON.stringify(answers));
`,
    );

    // Act
    const answers = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', script],
        { cwd: join(import.meta.dirname, '../../..') },
        (error, stdout, stderr) =>
          error
            ? reject(new Error(`exit ${String(error.code ?? error.signal)}: ${stderr}`))
            : resolve(stdout),
      );
    });

    // Assess: 1,500,000 strings of 6.89 digits on average plus 60 (or 61) x's each.
    expect(JSON.parse(answers)).toEqual([
      [['1500000', '99388890']],
      [['1500000', String(99388890 + 1500000)]],
    ]);
  }, 120_000);
});
