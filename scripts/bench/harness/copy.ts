/**
 * Bulk load throughput and streaming memory of the Data Transform connector (issue 15).
 *
 * Copy: a CSV file of `rows` orders is put into the local stack's S3 store (s3rver, started as the bench's
 * `transform` peer starts it) and loaded into the machine's PostgreSQL by the connector's `load-postgres`
 * through its Lambda handler (a direct-invoke envelope: ranged S3 reads, CSV parse, the record transform
 * with no mapping, COPY FROM STDIN per part of 10,000 records in its own transaction with its manifest
 * row, the manifest object), and by `psql \copy` of the same file into a table of the same shape, in
 * the same rounds, alternating which goes first; both tables are emptied before each round. Rows per
 * second are medians over the rounds; the ratio is connector / psql.
 *
 * Stream: `scripts/data/stream-memory.ts` run as its own process with a 192 MiB heap cap (the README's
 * "Formats and memory" check, readers and writers without a mapping) on `streamMib` MiB of CSV: rows,
 * rate, the RSS sampled during the run and the process's max RSS as the kernel counts it.
 *
 * Run by `scripts/bench/run.ts` as a child (task in BENCH_TASK, answer over IPC), or alone:
 * `node scripts/bench/harness/copy.ts` prints the figures (BENCH_TASK='{"rows":1000000,"rounds":3,"streamMib":1024}').
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { lambdaContext } from '@circle-core/core/testing';
import pg from 'pg';
import { startS3 } from '../../local/stores/embedded.ts';
import type { BulkLoadResult, CopyResult, CopyTask, StreamMemoryResult } from './protocol.ts';

const root = resolve(import.meta.dirname, '..', '..', '..');
const task: CopyTask =
  process.env['BENCH_TASK'] === undefined
    ? { rows: 100_000, rounds: 3, streamMib: 32 }
    : (JSON.parse(process.env['BENCH_TASK']) as CopyTask);
const run = randomUUID().slice(0, 8);
const BUCKET = 'bench-transform';
const KEY = 'bench/orders.csv';
const COLUMNS = ['id', 'customer', 'total', 'currency', 'created_at', 'note'];
const SHAPE =
  '(id bigint primary key, customer text not null, total numeric(12,2) not null, currency text not null, created_at timestamptz not null, note text)';
const PART_RECORDS = 10_000;
const STREAM_HEAP_MIB = 192;
const exec = promisify(execFile);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/** Orders as CSV with a header row, the line shape of stream-memory.ts (a quoted note with a comma). */
async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write(`${COLUMNS.join(',')}\n`);
  for (let start = 0; start < rows; start += 10_000) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + 10_000); i += 1) {
      lines.push(
        `${i},customer-${i % 9973},${((i * 37) % 100000) / 100},EUR,2026-12-0${(i % 9) + 1}T10:00:00Z,"note, ${i % 101}"\n`,
      );
    }
    if (!out.write(lines.join(''))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** psql's `\copy` of the file, timed from spawn to exit (connecting included, as the connector's is). */
async function psqlCopy(url: string, table: string, file: string): Promise<number> {
  const command = `\\copy ${table} (${COLUMNS.join(', ')}) from '${file}' with (format csv, header true)`;
  const started = performance.now();
  await exec('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', command]);
  return (performance.now() - started) / 1000;
}

async function measureCopy(directory: string): Promise<CopyResult> {
  const base: CopyResult = { rows: task.rows, rounds: 0, part_records: PART_RECORDS, csv_bytes: 0 };
  // The machine's PostgreSQL, overridable as the tests' (CIRCLE_TEST_PG_URL); scripts import nothing from test/.
  const url = process.env['CIRCLE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  const db = new pg.Client(url);
  try {
    await db.connect();
  } catch (error) {
    return { ...base, reason: `PostgreSQL does not answer at ${new URL(url).host}: ${String(error)}` };
  }
  const file = join(directory, 'orders.csv');
  const connectorTable = `bench_copy_connector_${run}`;
  const psqlTable = `bench_copy_psql_${run}`;
  const manifestTable = `bench_copy_parts_${run}`;
  let csvBytes = 0;
  let s3: Awaited<ReturnType<typeof startS3>> | undefined;
  try {
    await writeCsv(file, task.rows);
    csvBytes = (await stat(file)).size;
    // A store that does not start (a loaded machine) is reported as the reason, not a failed bench.
    s3 = await startS3({ directory: join(directory, 's3'), buckets: [BUCKET] });
    const raw = new S3Client({
      endpoint: s3.url,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: await readFile(file) }));
    raw.destroy();
    await db.query(`create table ${connectorTable} ${SHAPE}`);
    await db.query(`create table ${psqlTable} ${SHAPE}`);
    // The settings the bench's transform peer and function.yml give it, the machine's PostgreSQL as PG_URL.
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_S3: s3.url,
      TRANSFORM_BUCKET: BUCKET,
      TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
      TRANSFORM_PG_PART_RECORDS: String(PART_RECORDS),
      TRANSFORM_PG_MANIFEST_TABLE: manifestTable,
      PG_URL: url,
      PG_SSL: 'disable',
      PG_STATEMENT_TIMEOUT_MS: '20000',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    const { handler } = await import('../../../functions/data/transform/index.ts');
    const load = async (loadId: string): Promise<number> => {
      const started = performance.now();
      const output = (await handler(
        { operation: 'load-postgres', input: { source: { key: KEY }, table: connectorTable, loadId } },
        // Lambda's longest invocation: the load must finish in one call (done: true).
        lambdaContext({ remainingMs: 900_000, functionName: 'bench-transform' }),
      )) as { done?: boolean; rowsLoaded?: number };
      const seconds = (performance.now() - started) / 1000;
      if (output.done !== true || output.rowsLoaded !== task.rows) {
        throw new Error(`load-postgres answered ${JSON.stringify(output).slice(0, 500)}`);
      }
      return seconds;
    };
    const count = async (table: string): Promise<number> =>
      Number((await db.query(`select count(*)::int as n from ${table}`)).rows[0]?.n);
    const empty = async (): Promise<void> => {
      await db.query(`truncate ${connectorTable}, ${psqlTable}`);
    };
    // One unmeasured pass each: the connection, the S3 client and the code paths warm.
    await load(`bench-${run}-warm`);
    await psqlCopy(url, psqlTable, file);
    const connectorSeconds: number[] = [];
    const psqlSeconds: number[] = [];
    for (let round = 0; round < task.rounds; round += 1) {
      await empty();
      const order = round % 2 === 0 ? (['connector', 'psql'] as const) : (['psql', 'connector'] as const);
      for (const side of order) {
        if (side === 'connector') connectorSeconds.push(await load(`bench-${run}-${round}`));
        else psqlSeconds.push(await psqlCopy(url, psqlTable, file));
      }
      const counts = [await count(connectorTable), await count(psqlTable)];
      if (counts.some((n) => n !== task.rows)) throw new Error(`rows after round ${round}: ${counts}`);
    }
    const connectorRate = task.rows / median(connectorSeconds);
    const psqlRate = task.rows / median(psqlSeconds);
    return {
      ...base,
      rounds: task.rounds,
      csv_bytes: csvBytes,
      connector_seconds: Math.round(median(connectorSeconds) * 100) / 100,
      psql_seconds: Math.round(median(psqlSeconds) * 100) / 100,
      connector_rows_per_second: Math.round(connectorRate),
      psql_rows_per_second: Math.round(psqlRate),
      ratio: Math.round((connectorRate / psqlRate) * 1000) / 1000,
    };
  } catch (error) {
    return { ...base, csv_bytes: csvBytes, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    for (const table of [connectorTable, psqlTable, manifestTable]) {
      await db.query(`drop table if exists ${table}`).catch(() => undefined);
    }
    await db.end();
    await s3?.close();
  }
}

/** stream-memory.ts in its own process (its RSS is the reader's and writer's alone); its last line is JSON. */
async function measureStream(): Promise<StreamMemoryResult> {
  const script = join(root, 'scripts', 'data', 'stream-memory.ts');
  const args = [
    `--max-old-space-size=${STREAM_HEAP_MIB}`,
    script,
    '--mib',
    String(task.streamMib),
    '--no-expression',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
  const [code] = (await once(child, 'exit')) as [number | null];
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) {
    return { input_mib: task.streamMib, heap_cap_mib: STREAM_HEAP_MIB, reason: `exit ${code}: ${stderr}` };
  }
  const figures = JSON.parse(last) as {
    inputMiB: number;
    rows: number;
    seconds: number;
    rowsPerSecond: number;
    outputMiB: number;
    baselineRssMiB: number;
    peakRssMiB: number;
    maxRssMiB: number;
  };
  return {
    input_mib: figures.inputMiB,
    heap_cap_mib: STREAM_HEAP_MIB,
    rows: figures.rows,
    seconds: figures.seconds,
    rows_per_second: figures.rowsPerSecond,
    output_mib: figures.outputMiB,
    baseline_rss_mib: figures.baselineRssMiB,
    peak_rss_mib: figures.peakRssMiB,
    max_rss_mib: figures.maxRssMiB,
  };
}

const directory = await mkdtemp(join(tmpdir(), 'circle-bench-copy-'));
let result: BulkLoadResult;
try {
  const copy = await measureCopy(directory);
  await rm(join(directory, 's3'), { recursive: true, force: true });
  result = { copy, stream: await measureStream() };
} finally {
  await rm(directory, { recursive: true, force: true });
}

if (process.send === undefined) {
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
} else {
  process.send(result, undefined, {}, () => process.exit(0));
}
