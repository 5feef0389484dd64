/**
 * The DuckDB connector runs SQL the caller writes, in the function's own process: hostile SQL must not
 * reach the file system, the network, the environment (the role's credentials) or the lock-down itself.
 * Each statement below is run as run-query with a distinctive AWS_SECRET_ACCESS_KEY in the environment
 * and a file outside the allowed directory holding a marker: none may answer 200, and no answer, error
 * or log line may hold the key or the marker; the file a COPY names is never written. Also: every
 * operation refuses an unknown field with 400 naming its pointer.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

interface Loaded {
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  runtime: { operations: Record<string, unknown> };
}

const SECRET_KEY = `duckdb-leak-check-${randomBytes(10).toString('hex')}`;
const FILE_MARKER = `duckdb-file-leak-check-${randomBytes(10).toString('hex')}`;
const SAMPLE = join(import.meta.dirname, '../../functions/analytics/duckdb/sample');
const QUERY_ID = '01b2c3d4-0000-4000-8000-000000000000';

let temp: string;
let outside: string;
let logs: CapturedLogs;
let connector: Loaded;
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/duckdb/${operation}`,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'duckdb-hardening-'));
  outside = join(temp, 'outside.csv');
  await writeFile(outside, `secret\n${FILE_MARKER}\n`);
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    DUCKDB_TEMP_DIRECTORY: join(temp, 'spill'),
    DUCKDB_LOCAL_DIRECTORY: SAMPLE,
    DUCKDB_THREADS: '1',
    DUCKDB_MAX_RESULT_ROWS: '1000',
  });
  connector = (await import('../../functions/analytics/duckdb/index.ts')).connector as unknown as Loaded;
  logs = captureLogs();
}, 60_000);

afterAll(async () => {
  logs?.restore();
  process.env = savedEnv;
  await rm(temp, { recursive: true, force: true });
});

describe('Hostile SQL: DuckDB', () => {
  it('runs an ordinary query (the refusals below are not a broken connector)', async () => {
    const response = await call('run-query', { sql: 'select 41 + 1 as answer' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('42');
  });

  it.each([
    ['an environment variable', "select getenv('AWS_SECRET_ACCESS_KEY') as v"],
    ['a file outside the allowed directory', "select * from read_csv('{outside}')"],
    ['a file as text', "select content from read_text('{outside}')"],
    ['the process environment file', "select content from read_text('/proc/self/environ')"],
    ['a glob of the file system', "select * from glob('/etc/*')"],
    ['a write with COPY', "copy (select 1 as x) to '{temp}/written.csv'"],
    ['another database with ATTACH', "attach '{temp}/other.duckdb' as other"],
    ['the lock-down itself', 'set enable_external_access = true'],
    ['the allowed directories', "set allowed_directories = ['/']"],
    ['an extension install', 'install httpfs'],
    ['an extension load', 'load httpfs'],
    ['the metadata endpoint over http', "select * from read_csv('http://169.254.169.254/latest/meta-data/')"],
  ])('refuses %s without a 200 and without the secret', async (_what, template) => {
    const sql = template.replace('{outside}', outside).replaceAll('{temp}', temp);
    const response = await call('run-query', { sql });
    expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.body).not.toContain(SECRET_KEY);
    expect(response.body).not.toContain(FILE_MARKER);
    expect(existsSync(join(temp, 'written.csv'))).toBe(false);
    expect(existsSync(join(temp, 'other.duckdb'))).toBe(false);
  });

  it('still reads the allowed directory after all that (the lock-down held, the connector works)', async () => {
    const response = await call('run-query', {
      sql: `select count(*) as n from read_csv('${SAMPLE}/orders.csv')`,
    });
    expect(response.statusCode).toBe(200);
  });

  it('wrote neither the key nor the file marker to any log line', () => {
    expect(logs.text()).toContain('"service":"duckdb"');
    expect(logs.text()).not.toContain(SECRET_KEY);
    expect(logs.text()).not.toContain(FILE_MARKER);
  });
});

describe('Strict inputs: DuckDB', () => {
  const samples: Record<string, unknown> = {
    'run-query': { sql: 'select 1 as one' },
    'start-query': { sql: 'select 1 as one' },
    'get-query': { queryId: QUERY_ID },
    'get-query-results': { queryId: QUERY_ID },
    'cancel-query': { queryId: QUERY_ID },
  };

  it('has a sample for exactly its operations', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(connector.runtime.operations).sort());
  });

  it.each(Object.keys(samples))('%s answers 400 naming /unexpectedFieldX', async (operation) => {
    const response = await call(operation, { ...(samples[operation] as object), unexpectedFieldX: 1 });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).errors).toContainEqual({
      pointer: '/unexpectedFieldX',
      message: 'unknown field',
    });
  });
});
