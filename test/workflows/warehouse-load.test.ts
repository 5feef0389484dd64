/**
 * The `warehouse-load` workflow end to end on the local stack (`npm start -- --only s3,transform,duckdb,slack`,
 * serverless.yml resolved as deployed): generated CSV and NDJSON objects put into the stack's S3 store under
 * the schedule's prefix, the schedule fired as EventBridge would (`npm run schedule`), each new object mapped
 * by the schedule's expression and copied into PostgreSQL by the transform connector's load-postgres (COPY
 * FROM STDIN), checked by a DuckDB count, marked; a report in S3 and a summary in the Slack contract fake.
 * A record the mapping rejects is counted; an object PostgreSQL refuses and a malformed one fail alone and
 * land in the report and the summary. A rerun loads nothing; an object added later is the only one loaded.
 *
 * PostgreSQL: the stack's embedded PGlite, as plain `npm start` runs it (its socket takes COPY FROM STDIN:
 * scripts/local/stores/pglite-copy.ts); the test reads the rows there.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  finished,
  fireSchedule,
  readObject,
  runWorkflow,
  startWorkflowWorld,
  type WorkflowWorld,
} from './harness.ts';

let world: WorkflowWorld;

/** The schedule's settings in serverless.yml: the test puts its objects where the schedule looks. */
const PREFIX = 'warehouse/incoming/';
const TABLE = 'warehouse_events';
const SCHEDULE_INPUT = {
  prefix: PREFIX,
  table: TABLE,
  expression: "{ 'event_id': $string(id), 'kind': kind, 'amount_cents': $round($number(amount) * 100) }",
};

interface Outcome {
  key: string;
  status: 'loaded' | 'unchanged' | 'ignored' | 'failed';
  rows: number;
  rejected: number;
  read: number;
  check: string;
  error: string;
  cause: string;
}

interface Output {
  correlationId: string;
  prefix: string;
  table: string;
  pages: number;
  totals: Record<string, number | string>;
  reportPrefix: string;
  slack: { channel: string; ts: string };
}

async function put(key: string, body: string): Promise<void> {
  await world.s3.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: body }));
}

async function rows(): Promise<{ event_id: string; kind: string; amount_cents: number }[]> {
  const result = await world.db.query(`select event_id, kind, amount_cents from ${TABLE} order by event_id`);
  return result.rows;
}

async function report(output: Output): Promise<Outcome[]> {
  const text = await readObject(world, `${output.reportPrefix}page-1.ndjson`);
  expect(text).toBeDefined();
  return (text ?? '')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Outcome)
    .sort((a, b) => a.key.localeCompare(b.key));
}

function summaryFor(output: Output): string {
  const message = world.slack.messages.find((m) => m.ts === output.slack.ts);
  expect(message).toBeDefined();
  return message?.text ?? '';
}

beforeAll(async () => {
  world = await startWorkflowWorld({
    only: ['s3', 'transform', 'duckdb', 'slack'],
    embeddedPostgres: true,
  });
  await world.db.query(
    `create table ${TABLE} (event_id text primary key, kind text not null, amount_cents integer not null)`,
  );
  // A CSV whose third record the mapping rejects ($number('n/a') fails): two rows.
  await put(`${PREFIX}a.csv`, 'id,kind,amount\n1,click,1.5\n2,view,2\n3,click,n/a\n');
  // NDJSON: two rows.
  await put(
    `${PREFIX}b.ndjson`,
    '{"id":4,"kind":"view","amount":3}\n{"id":5,"kind":"click","amount":0.25}\n',
  );
  // PostgreSQL refuses it: kind is NOT NULL.
  await put(`${PREFIX}c.ndjson`, '{"id":6,"kind":null,"amount":1}\n');
  // Malformed: its second row has more fields than the header (a broken file, not a bad record).
  await put(`${PREFIX}d.csv`, 'id,kind,amount\n7,view,1,extra,fields\n8,"click\n');
  // Not CSV or NDJSON: ignored.
  await put(`${PREFIX}notes.txt`, 'loaded hourly\n');
}, 480_000);

afterAll(async () => {
  await world?.close();
});

describe('Workflow warehouse-load on the local stack', () => {
  let first: Output;

  it('from its schedule: loads the new objects, checks them, reports the failures and posts a summary', async () => {
    // Act
    const arn = await fireSchedule(world, 'warehouse-load');
    const execution = await finished(world, arn, 240_000);
    first = JSON.parse(execution.output ?? '{}') as Output;
    const outcomes = await report(first);

    // Assess: the rows the mapping made, in PostgreSQL
    expect(execution.status).toBe('SUCCEEDED');
    expect(await rows()).toEqual([
      { event_id: '1', kind: 'click', amount_cents: 150 },
      { event_id: '2', kind: 'view', amount_cents: 200 },
      { event_id: '4', kind: 'view', amount_cents: 300 },
      { event_id: '5', kind: 'click', amount_cents: 25 },
    ]);
    // The check: DuckDB's count of each loaded object equals the records the load read.
    expect(outcomes.filter((o) => o.status === 'loaded')).toEqual([
      expect.objectContaining({ key: `${PREFIX}a.csv`, rows: 2, rejected: 1, read: 3, check: 'match' }),
      expect.objectContaining({ key: `${PREFIX}b.ndjson`, rows: 2, rejected: 0, read: 2, check: 'match' }),
    ]);
    // The failures, each with its error, in the report; the other objects went on.
    const none = { rows: 0, rejected: 0, read: 0, check: 'none' };
    expect(outcomes.filter((o) => o.status !== 'loaded')).toEqual([
      {
        key: `${PREFIX}c.ndjson`,
        status: 'failed',
        ...none,
        error: 'ValidationError',
        cause: expect.stringContaining('null value in column "kind"'),
      },
      {
        key: `${PREFIX}d.csv`,
        status: 'failed',
        ...none,
        rejected: 2,
        error: 'NothingLoaded',
        cause: 'all 2 records were rejected (unreadable, or refused by the expression); no row was loaded',
      },
      { key: `${PREFIX}notes.txt`, status: 'ignored', ...none, error: '', cause: '' },
    ]);
    expect(first).toMatchObject({
      prefix: PREFIX,
      table: TABLE,
      pages: 1,
      totals: {
        loaded: 2,
        rows: 4,
        rejected: 1,
        failed: 2,
        unchanged: 0,
        ignored: 1,
        mismatched: 0,
        failedKeys: `${PREFIX}c.ndjson; ${PREFIX}d.csv; `,
      },
    });
    // The summary in Slack.
    const text = summaryFor(first);
    expect(text).toContain('2 files loaded, 4 rows, 1 records rejected; 2 files failed');
    expect(text).toContain(`${PREFIX}c.ndjson; ${PREFIX}d.csv;`);
    expect(text).toContain('0 mismatched');
    expect(text).toContain(first.reportPrefix);
  }, 300_000);

  it('run again: loads nothing new (loaded and malformed objects unchanged, the refused one tried again)', async () => {
    // Act
    const run = await runWorkflow(world, 'warehouse-load', SCHEDULE_INPUT);
    const output = run.output as Output;

    // Assess
    expect(run.status).toBe('SUCCEEDED');
    expect(output.totals).toMatchObject({
      loaded: 0,
      rows: 0,
      rejected: 0,
      failed: 1,
      unchanged: 3,
      ignored: 1,
      failedKeys: `${PREFIX}c.ndjson; `,
    });
    expect((await rows()).length).toBe(4);
    expect(summaryFor(output)).toContain('0 files loaded, 0 rows');
  }, 300_000);

  it('an object added later is the only one loaded', async () => {
    // Prepare
    await put(`${PREFIX}e.ndjson`, '{"id":9,"kind":"view","amount":4}\n');

    // Act
    const run = await runWorkflow(world, 'warehouse-load', {
      ...SCHEDULE_INPUT,
      correlationId: 'warehouse-e',
    });
    const output = run.output as Output;

    // Assess
    expect(run.status).toBe('SUCCEEDED');
    expect(output.totals).toMatchObject({ loaded: 1, rows: 1, failed: 1, unchanged: 3, ignored: 1 });
    expect((await rows()).map((row) => row.event_id)).toEqual(['1', '2', '4', '5', '9']);
    expect(summaryFor(output)).toContain(
      'warehouse-load warehouse-e of warehouse/incoming/ into warehouse_events',
    );
  }, 300_000);

  it('refuses an input without a table before loading anything', async () => {
    // Act
    const run = await runWorkflow(world, 'warehouse-load', { prefix: PREFIX, expression: '$' });

    // Assess
    expect(run.status).toBe('FAILED');
    expect(run.stderr + JSON.stringify(run.output)).toContain('input.table must be a non-empty string');
  }, 120_000);
});
