/**
 * Data Transform's load-postgres on the running local stack (`npm start -- --only transform,s3,postgres,mysql`),
 * as its README runs it: the CSV put in the local S3 store with the S3 connector, the table made with the
 * postgres connector, and the rows copied with `COPY ... FROM STDIN` into the stack's embedded PGlite
 * (served with COPY by scripts/local/stores/pglite-copy.ts). Checks the rows, a rerun loading nothing, and a
 * part whose COPY PostgreSQL refuses rolling back alone with its manifest row. Then load-mysql and the mysql
 * connector against the machine's MariaDB, where the counts come from MySQL's OK packets as the built
 * (minified) functions read them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;

async function post(
  path: string,
  input: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
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

async function sql(text: string, params: unknown[] = []): Promise<unknown[]> {
  const answer = await post('/postgres/execute', { statements: [{ sql: text, params }] });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body['results'] as { rows: unknown[] }[])[0]?.rows ?? [];
}

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 'transform,s3,postgres,mysql']);
}, 300_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: load-postgres into the embedded PGlite', { timeout: 60_000 }, () => {
  it('copies a CSV from the local S3 store, rejects a bad record, and a rerun loads nothing', async () => {
    // Prepare
    await sql(
      'create table orders_stack (order_id text primary key, customer text, total_cents integer, currency text)',
    );
    const put = await post('/s3/put-object', {
      key: 'incoming/stack-orders.csv',
      body: 'id,customer,total,currency\n1,Ada,12.5,EUR\n2,Grace,3,USD\n3,,1,EUR\n4,"Lin, Jr.",0.99,EUR\n',
    });
    const input = {
      source: { key: 'incoming/stack-orders.csv' },
      table: 'orders_stack',
      inputSchema: { model: 'order.v1' },
      expression:
        '{ "order_id": id, "customer": customer, "total_cents": $round($number(total) * 100), "currency": currency }',
      partRecords: 2,
    };

    // Act
    const first = await post('/transform/load-postgres', input);
    const again = await post('/transform/load-postgres', input);

    // Assess
    expect(put.status).toBe(200);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({
      done: true,
      partsLoaded: 2,
      partsSkipped: 0,
      rowsLoaded: 3,
      read: 4,
      rejectedCount: 1,
      rejected: [{ index: 2, stage: 'input' }],
    });
    expect(
      await sql('select order_id, customer, total_cents, currency from orders_stack order by order_id'),
    ).toEqual([
      { order_id: '1', customer: 'Ada', total_cents: 1250, currency: 'EUR' },
      { order_id: '2', customer: 'Grace', total_cents: 300, currency: 'USD' },
      { order_id: '4', customer: 'Lin, Jr.', total_cents: 99, currency: 'EUR' },
    ]);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ done: true, partsLoaded: 0, partsSkipped: 2, rowsLoaded: 0 });
    expect(await sql('select count(*)::int as n from orders_stack')).toEqual([{ n: 3 }]);
    const manifest = first.body['manifest'] as { key: string };
    const object = await post('/s3/get-object', { key: manifest.key });
    expect(object.status).toBe(200);
    expect(JSON.parse(String(object.body['body']))).toMatchObject({
      loadId: first.body['loadId'],
      table: 'orders_stack',
      rows: 3,
      parts: [{ rows: 2 }, { rows: 1 }],
    });
  });

  it('rolls back the part whose COPY PostgreSQL refuses, with its manifest row, and keeps the parts before it', async () => {
    // Prepare
    await sql('create table ids_stack (id integer primary key, note text)');
    await post('/s3/put-object', {
      key: 'incoming/stack-ids.ndjson',
      body: [
        '{"id":1,"note":"a"}',
        '{"id":2,"note":"b"}',
        '{"id":3,"note":"c"}',
        '{"id":1,"note":"again"}',
        '{"id":5,"note":"e"}',
      ]
        .map((line) => `${line}\n`)
        .join(''),
    });
    const loadId = `ids-${randomUUID()}`;

    // Act
    const answer = await post('/transform/load-postgres', {
      source: { key: 'incoming/stack-ids.ndjson' },
      table: 'ids_stack',
      loadId,
      partRecords: 2,
    });

    // Assess
    expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    expect(await sql('select id, note from ids_stack order by id')).toEqual([
      { id: 1, note: 'a' },
      { id: 2, note: 'b' },
    ]);
    expect(
      await sql('select part, rows from circle_load_parts where load_id = $1 order by part', [loadId]),
    ).toEqual([{ part: 0, rows: 2 }]);
  });

  it('resumes after the refused part once the row is fixed, loading only what is missing', async () => {
    // Prepare
    const loadId = `ids-fixed-${randomUUID()}`;
    await sql('create table fixed_stack (id integer primary key, note text)');
    await sql("insert into fixed_stack values (3, 'already there')");
    await post('/s3/put-object', {
      key: 'incoming/stack-fixed.ndjson',
      body: '{"id":1,"note":"a"}\n{"id":2,"note":"b"}\n{"id":3,"note":"c"}\n{"id":4,"note":"d"}\n',
    });
    const input = {
      source: { key: 'incoming/stack-fixed.ndjson' },
      table: 'fixed_stack',
      loadId,
      partRecords: 2,
    };
    const refused = await post('/transform/load-postgres', input);
    await sql('delete from fixed_stack where id = 3');

    // Act
    const resumed = await post('/transform/load-postgres', input);

    // Assess
    expect(refused.status).toBe(409);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body).toMatchObject({ done: true, partsLoaded: 1, partsSkipped: 1, rowsLoaded: 2 });
    expect(await sql('select id from fixed_stack order by id')).toEqual([
      { id: 1 },
      { id: 2 },
      { id: 3 },
      { id: 4 },
    ]);
  });

  it('checks records against a JSON Schema given in the request, and refuses one zod cannot read', async () => {
    // Prepare: the built function converts it with the layer's zod/json-schema, loaded on first use.
    const outputSchema = {
      jsonSchema: {
        type: 'object',
        properties: { id: { type: 'integer' }, note: { type: 'string', minLength: 1 } },
        required: ['id', 'note'],
      },
    };

    // Act
    const checked = await post('/transform/transform-records', {
      expression: '{ "id": id, "note": note }',
      records: [
        { id: 1, note: 'a' },
        { id: 2, note: '' },
      ],
      outputSchema,
    });
    const unreadable = await post('/transform/transform-records', {
      expression: '$',
      records: [{ id: 1 }],
      outputSchema: { jsonSchema: { type: 'object', $ref: 'https://example.com/remote.json' } },
    });

    // Assess
    expect(checked.status, JSON.stringify(checked.body)).toBe(200);
    expect(checked.body).toMatchObject({
      read: 2,
      written: 1,
      rejectedCount: 1,
      records: [{ id: 1, note: 'a' }],
      rejected: [{ index: 1, stage: 'output', problems: [{ pointer: '/note' }] }],
    });
    expect(unreadable.status, JSON.stringify(unreadable.body)).toBe(400);
    expect(unreadable.body['errors']).toEqual([
      { pointer: '/outputSchema/jsonSchema', message: expect.any(String) },
    ]);
  });
});

describe('Local stack: load-mysql and the mysql connector into MariaDB', { timeout: 60_000 }, () => {
  it('counts what MySQL stored: a DDL statement, inserted and skipped rows, a load and its manifest', async () => {
    // Prepare
    const table = `orders_stack_${randomUUID().slice(0, 8)}`;
    const key = `incoming/${table}.csv`;
    const created = await post('/mysql/query', {
      sql: `create table ${table} (order_id varchar(16) primary key, customer varchar(32), total_cents int, currency char(3))`,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    try {
      const rows = ['a', 'b', 'c'].map((id) => ({
        order_id: id,
        customer: 'Ada',
        total_cents: 1,
        currency: 'EUR',
      }));
      await post('/s3/put-object', {
        key,
        body: 'id,customer,total,currency\n1,Ada,12.5,EUR\n2,Grace,3,USD\n4,"Lin, Jr.",0.99,EUR\n',
      });

      // Act
      const inserted = await post('/mysql/insert-rows', { table, rows });
      const duplicate = await post('/mysql/insert-rows', {
        table,
        rows: [{ order_id: 'a', customer: 'dup', total_cents: 9, currency: 'EUR' }],
        onConflict: 'ignore',
      });
      const load = await post('/transform/load-mysql', {
        source: { key },
        table,
        expression:
          '{ "order_id": id, "customer": customer, "total_cents": $round($number(total) * 100), "currency": currency }',
        partRecords: 2,
      });

      // Assess
      expect(created.body).toMatchObject({ rows: [], rowCount: 0 });
      expect(inserted.body).toEqual({ inserted: 3, batches: 1 });
      expect(duplicate.body).toEqual({ inserted: 0, batches: 1 });
      expect(load.status, JSON.stringify(load.body)).toBe(200);
      expect(load.body).toMatchObject({ done: true, partsLoaded: 2, rowsLoaded: 3, read: 3 });
      const manifest = load.body['manifest'] as { key: string };
      const object = await post('/s3/get-object', { key: manifest.key });
      expect(JSON.parse(String(object.body['body']))).toMatchObject({
        rows: 3,
        parts: [{ rows: 2 }, { rows: 1 }],
      });
      const counted = await post('/mysql/query', { sql: `select count(*) as n from ${table}` });
      expect(counted.body).toMatchObject({ rows: [{ n: '6' }] }); // count(*) is a BIGINT: a string
    } finally {
      await post('/mysql/query', { sql: `drop table ${table}` });
    }
  });
});
