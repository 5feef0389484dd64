/**
 * The DuckDB connector on the running local stack (`npm start -- --only duckdb,s3`), as a newcomer runs its
 * README: the built artifact with its native engine beside it, queries over the sample CSV, NDJSON and Parquet
 * files, an object put with the S3 connector and queried through an `s3://` source, a query started, polled
 * and paged, and bad SQL answered 400 naming the problem.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;

async function post(path: string, input: unknown) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface RunAnswer {
  status: { queryId: string; state: string };
  results: { columns: { name: string; kind: string }[]; rows: unknown[][]; nextCursor: string | null } | null;
}

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 'duckdb,s3']);
}, 300_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: DuckDB embedded', () => {
  it('joins the sample CSV, NDJSON and Parquet files', async () => {
    // Act
    const answer = await post('/duckdb/run-query', {
      sql:
        'select p.category, count(distinct e.customer) as viewers, sum(o.quantity) as sold from products p ' +
        'left join orders o using (product_id) left join events e on e.path = ? || p.product_id ' +
        'group by p.category order by p.category',
      params: ['/products/'],
      sources: [
        { name: 'orders', url: 'file:orders.csv' },
        { name: 'events', url: 'file:events.ndjson' },
        { name: 'products', url: 'file:products.parquet' },
      ],
    });

    // Assess
    expect(answer.status).toBe(200);
    const body = answer.body as unknown as RunAnswer;
    expect(body.status.state).toBe('succeeded');
    expect(body.results?.rows).toEqual([
      ['electronics', '1', '2'],
      ['tools', '2', '14'],
    ]);
  });

  it('queries an object put with the S3 connector through an s3:// source', async () => {
    // Prepare
    const put = await post('/s3/put-object', {
      key: 'lake/visits.csv',
      body: 'day,visits\n2026-01-05,120\n2026-01-06,95\n2026-01-07,80\n',
    });

    // Act
    const answer = await post('/duckdb/run-query', {
      sql: 'select sum(visits)::integer as visits from visits where day >= cast(? as date)',
      params: ['2026-01-06'],
      sources: [{ name: 'visits', url: 's3://circle-core-dev-000000000000-objects/lake/visits.csv' }],
    });

    // Assess
    expect(put.status).toBe(200);
    expect(answer.status).toBe(200);
    expect((answer.body as unknown as RunAnswer).results?.rows).toEqual([[175]]);
  });

  it('starts, polls and pages a query', async () => {
    // Act
    const started = await post('/duckdb/start-query', { sql: 'select range::integer as n from range(2500)' });
    const queryId = started.body['queryId'];
    const status = await post('/duckdb/get-query', { queryId, waitSeconds: 10 });
    const first = await post('/duckdb/get-query-results', { queryId, pageSize: 1000 });
    const last = await post('/duckdb/get-query-results', {
      queryId,
      pageSize: 2000,
      cursor: first.body['nextCursor'],
    });

    // Assess
    expect(status.body['state']).toBe('succeeded');
    expect((first.body['rows'] as unknown[]).length).toBe(1000);
    expect((last.body['rows'] as unknown[][]).at(-1)).toEqual([2499]);
    expect(last.body['nextCursor']).toBeNull();
  });

  it('answers 400 naming the problem for bad SQL and 403 for a file the SQL opens itself', async () => {
    // Act
    const bad = await post('/duckdb/run-query', { sql: 'selec 1' });
    const file = await post('/duckdb/run-query', { sql: "select * from read_csv('/etc/passwd')" });

    // Assess
    expect(bad.status).toBe(400);
    expect(bad.body['detail']).toContain('syntax error at or near "selec"');
    expect(file.status).toBe(403);
  });
});
