/**
 * load-postgres against s3rver and the machine's real PostgreSQL (COPY FROM STDIN over the wire):
 * parts loaded once, a resumed load, a manifest, rejections by index.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { httpEvent, lambdaContext, sqsEvent } from '@circle-core/core/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { realPostgresUrl } from '../../../test/peers/postgres.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { TransformClient } from './client.ts';
import { clientOptions, TransformConfig } from './config.ts';

const suffix = `${process.pid}_${Date.now() % 100000}`;
const TABLE = `transform_orders_${suffix}`;
const MANIFEST = `transform_parts_${suffix}`;

const DLQ = `transform-dlq-${suffix}`;

let peer: S3rverPeer;
let aws: AwsEndpointPeer;
let s3: S3Client;
let db: pg.Client;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<{ statusCode: number; body: string }> {
  const event = httpEvent({ path: `/transform/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as { statusCode: number; body: string };
}

async function put(key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
}

const ndjson = (count: number, from = 0): string =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: from + i, customer: `c${from + i}`, total: (from + i) / 2, currency: 'EUR' }),
  ).join('\n');

beforeAll(async () => {
  peer = await startS3rver({ buckets: ['data'] });
  aws = await startAwsEndpointPeer({ queues: [DLQ] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: peer.credentials,
  });
  db = new pg.Client(realPostgresUrl());
  await db.connect();
  await db.query(
    `create table ${TABLE} (order_id integer primary key, customer text not null, total_cents integer, note text, tags jsonb)`,
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: peer.endpoint,
    AWS_ENDPOINT_URL_SQS: aws.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    TRANSFORM_BUCKET: 'data',
    TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
    TRANSFORM_PG_MANIFEST_TABLE: MANIFEST,
    TRANSFORM_PG_PART_RECORDS: '100',
    PG_URL: realPostgresUrl(),
    PG_SSL: 'disable',
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await db?.query(`drop table if exists ${TABLE}`);
  await db?.query(`drop table if exists ${MANIFEST}`);
  await db?.end();
  s3?.destroy();
  await peer?.close();
  await aws?.close();
});

/** What the connector moved to the dead-letter queue: each message's body and attributes. */
async function parked(): Promise<{ body: Record<string, unknown>; attributes: Record<string, string> }[]> {
  const sqs = new SQSClient({
    endpoint: aws.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: aws.queueUrl(DLQ),
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    return Messages.map((message) => ({
      body: JSON.parse(message.Body ?? '{}'),
      attributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          value.StringValue ?? '',
        ]),
      ),
    }));
  } finally {
    sqs.destroy();
  }
}

describe('Operation: load-postgres', () => {
  it('copies mapped records in parts, rejects bad ones by index, writes a manifest, and loads nothing twice', async () => {
    // Prepare
    const lines = ndjson(250).split('\n');
    lines[10] = '{"id": "x", "customer": "", "total": 1, "currency": "EUR"}';
    await put('in/orders.ndjson', `${lines.join('\n')}\n`);
    const input = {
      source: { key: 'in/orders.ndjson' },
      table: TABLE,
      expression:
        '{ "order_id": id, "customer": customer, "total_cents": $round(total * 100), "note": id % 50 = 0 ? "" : null, "tags": { "c": currency } }',
      inputSchema: { model: 'order.v1' },
    };

    // Act
    const first = JSON.parse((await call('load-postgres', input)).body);
    const again = JSON.parse((await call('load-postgres', input)).body);
    const counted = await db.query(
      `select count(*)::int as n, count(note)::int as notes, sum(total_cents)::int as cents from ${TABLE}`,
    );
    const tags = await db.query(`select tags from ${TABLE} where order_id = 3`);
    const manifest = JSON.parse(
      (await (
        await s3.send(new GetObjectCommand({ Bucket: 'data', Key: first.manifest.key }))
      ).Body?.transformToString()) ?? '{}',
    );

    // Assess
    expect(first).toMatchObject({
      done: true,
      partsLoaded: 3,
      partsSkipped: 0,
      rowsLoaded: 249,
      read: 250,
      rejectedCount: 1,
    });
    expect(first.rejected).toEqual([expect.objectContaining({ index: 10, stage: 'input' })]);
    expect(again).toMatchObject({
      loadId: first.loadId,
      done: true,
      partsLoaded: 0,
      partsSkipped: 3,
      rowsLoaded: 0,
    });
    expect(counted.rows[0]).toEqual({ n: 249, notes: 5, cents: (249 * 250 * 100) / 4 - 500 });
    expect(tags.rows[0]).toEqual({ tags: { c: 'EUR' } });
    expect(manifest).toMatchObject({ loadId: first.loadId, table: TABLE, rows: 249 });
    expect(manifest.parts.map((part: { name: string; rows: number }) => [part.name, part.rows])).toEqual([
      [`${first.loadId}#0`, 99],
      [`${first.loadId}#1`, 100],
      [`${first.loadId}#2`, 50],
    ]);
  });

  it('stops between parts when the time runs low and resumes with the same loadId', async () => {
    // Prepare
    await put(
      'in/more.csv',
      `id,customer,total\n${Array.from({ length: 300 }, (_, i) => `${1000 + i},m${i},${i}`).join('\n')}\n`,
    );
    const client = await TransformClient.create(clientOptions(TransformConfig.parse(process.env)));
    const input = {
      source: { key: 'in/more.csv' },
      table: TABLE,
      columns: ['order_id', 'customer', 'total_cents'],
      expression: '{ "order_id": $number(id), "customer": customer, "total_cents": $number(total) }',
      loadId: `resume-${suffix}`,
    };
    let checks = 0;
    // Plenty of time for part 0 (one check at its start, one per record evaluated), then too little.
    const timeLeft = () => (++checks <= 101 ? 60_000 : 1_000);

    try {
      // Act
      const stopped = await client.loadPostgres(input, timeLeft);
      const resumed = await client.loadPostgres(input, () => 60_000);
      const rows = await db.query(`select count(*)::int as n from ${TABLE} where order_id >= 1000`);

      // Assess
      expect(stopped).toMatchObject({
        loadId: `resume-${suffix}`,
        done: false,
        partsLoaded: 1,
        rowsLoaded: 100,
      });
      expect(stopped.manifest).toBeUndefined();
      expect(resumed).toMatchObject({ done: true, partsLoaded: 2, partsSkipped: 1, rowsLoaded: 200 });
      expect(rows.rows[0]).toEqual({ n: 300 });
    } finally {
      await client.close();
    }
  });

  it('creates its manifest table in every database a client loads into, not only the first', async () => {
    // Prepare: two clients in one process (library use), the same manifest table name, two databases.
    const other = `transform_other_${suffix}`;
    const target = `transform_both_${suffix}`;
    const manifest = `transform_parts_db_${suffix}`;
    const otherUrl = realPostgresUrl().replace(/\/[^/]*$/, `/${other}`);
    await db.query(`create database ${other}`);
    const otherDb = new pg.Client(otherUrl);
    await otherDb.connect();
    const ddl = `create table ${target} (order_id integer primary key, customer text not null)`;
    await db.query(ddl);
    await otherDb.query(ddl);
    const options = (url: string) =>
      clientOptions(
        TransformConfig.parse({ ...process.env, PG_URL: url, TRANSFORM_PG_MANIFEST_TABLE: manifest }),
      );
    const here = await TransformClient.create(options(realPostgresUrl()));
    const there = await TransformClient.create(options(otherUrl));
    await put('in/both.ndjson', ndjson(3, 5000));
    const input = {
      source: { key: 'in/both.ndjson' },
      table: target,
      expression: '{ "order_id": id, "customer": customer }',
    };

    try {
      // Act
      const first = await here.loadPostgres(input, () => 60_000);
      const second = await there.loadPostgres(input, () => 60_000);
      const rows = await otherDb.query(`select count(*)::int as n from ${target}`);

      // Assess
      expect(first).toMatchObject({ done: true, rowsLoaded: 3 });
      expect(second).toMatchObject({ done: true, rowsLoaded: 3 });
      expect(rows.rows[0]).toEqual({ n: 3 });
    } finally {
      await here.close();
      await there.close();
      await otherDb.end();
      await db.query(`drop database if exists ${other} with (force)`);
      await db.query(`drop table if exists ${target}, ${manifest}`);
    }
  });

  it('loads while another session is creating the same manifest table', async () => {
    // Prepare: another environment's first load has created the manifest table and not committed yet
    // (Lambda Managed Instances and plain Lambda alike run first loads side by side). PostgreSQL makes a
    // concurrent CREATE TABLE IF NOT EXISTS wait for it, then fail with 23505 (pg_type_typname_nsp_index).
    const manifest = `transform_parts_race_${suffix}`;
    const target = `transform_race_${suffix}`;
    await db.query(`create table ${target} (order_id integer primary key, customer text not null)`);
    const blocker = new pg.Client(realPostgresUrl());
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query(
      `create table ${manifest} (load_id text not null, part integer not null, rows integer not null, loaded_at timestamptz not null default now(), primary key (load_id, part))`,
    );
    const client = await TransformClient.create(
      clientOptions(TransformConfig.parse({ ...process.env, TRANSFORM_PG_MANIFEST_TABLE: manifest })),
    );
    await put('in/race.ndjson', ndjson(2, 6000));

    try {
      // Act: the load's CREATE waits on the blocker's; the blocker commits once it does.
      const loading = client.loadPostgres(
        {
          source: { key: 'in/race.ndjson' },
          table: target,
          expression: '{ "order_id": id, "customer": customer }',
        },
        () => 60_000,
      );
      const outcome = loading.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      for (let tries = 0; tries < 500; tries += 1) {
        const waiting = await db.query(
          `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like $1`,
          [`create table if not exists %${manifest}%`],
        );
        if (waiting.rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await blocker.query('commit');

      // Assess
      expect(await outcome).toMatchObject({ value: { done: true, rowsLoaded: 2 } });
    } finally {
      await client.close();
      await blocker.end();
      await db.query(`drop table if exists ${target}, ${manifest}`);
    }
  });

  it('answers a 409 naming the table when a part breaks a constraint, keeping the parts before it', async () => {
    // Prepare: ids 0..99 are in the table already
    await put('in/dupes.ndjson', ndjson(1, 5));

    // Act
    const response = await call('load-postgres', {
      source: { key: 'in/dupes.ndjson' },
      table: TABLE,
      expression: '{ "order_id": id, "customer": customer }',
    });

    // Assess
    expect(response.statusCode).toBe(409);
  });
});

describe('Operation: export-postgres', () => {
  it('writes the table in key order as parts, resumes from the cursor, and lists every part in a manifest', async () => {
    // Prepare: the rows the load tests left (ids 0..249 but 10, and 1000..1299), exported in parts of 200
    const client = await TransformClient.create(clientOptions(TransformConfig.parse(process.env)));
    const input = {
      table: TABLE,
      keyColumn: 'order_id',
      columns: ['order_id', 'customer'],
      exportId: `orders-${suffix}`,
      partRows: 200,
    };
    let checks = 0;

    try {
      // Act
      const stopped = await client.exportPostgres(input, () => (++checks <= 1 ? 60_000 : 1_000));
      const resumed = await client.exportPostgres(
        { ...input, ...(stopped.cursor ? { cursor: stopped.cursor } : {}) },
        () => 60_000,
      );
      const manifest = JSON.parse(
        (await (
          await s3.send(new GetObjectCommand({ Bucket: 'data', Key: resumed.manifest?.key ?? '' }))
        ).Body?.transformToString()) ?? '{}',
      );
      const first =
        (await (
          await s3.send(new GetObjectCommand({ Bucket: 'data', Key: manifest.parts[0] }))
        ).Body?.transformToString()) ?? '';
      const last =
        (await (
          await s3.send(new GetObjectCommand({ Bucket: 'data', Key: manifest.parts[2] }))
        ).Body?.transformToString()) ?? '';

      // Assess
      expect(stopped).toMatchObject({
        done: false,
        parts: 1,
        rows: 200,
        cursor: { after: 200, parts: 1, rows: 200 },
      });
      expect(resumed).toMatchObject({ done: true, parts: 3, rows: 549 });
      expect(manifest).toMatchObject({ rows: 549, format: 'ndjson' });
      expect(manifest.parts).toEqual(
        [1, 2, 3].map((n) => `transform/outputs/exports/orders-${suffix}/part-0000${n}.ndjson`),
      );
      expect(first.split('\n')[0]).toBe('{"order_id":0,"customer":"c0"}');
      expect(last.trimEnd().split('\n')).toHaveLength(149);
    } finally {
      await client.close();
    }
  });
});

describe('Queue trigger: a load or an export the time cut short', () => {
  it('moves a queued load-postgres that stopped to the dead-letter queue with its loadId, and the redrive finishes it', async () => {
    // Prepare: too little time for a part, as on a queue record near the function's timeout
    process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'] = aws.queueUrl(DLQ);
    await put(
      'in/queued.csv',
      `id,customer,total\n${Array.from({ length: 150 }, (_, i) => `${5000 + i},q${i},${i}`).join('\n')}\n`,
    );
    const input = {
      source: { key: 'in/queued.csv' },
      table: TABLE,
      columns: ['order_id', 'customer', 'total_cents'],
      expression: '{ "order_id": $number(id), "customer": customer, "total_cents": $number(total) }',
    };
    try {
      // Act
      const stopped = await connector.handler(
        sqsEvent([{ messageId: 'load-1', body: { operation: 'load-postgres', input } }]),
        lambdaContext({ remainingMs: 5_000 }),
      );
      const [left, ...more] = await parked();
      const redriven = left && (await connector.handler(sqsEvent([{ body: left.body }]), lambdaContext()));
      const rows = await db.query(`select count(*)::int as n from ${TABLE} where order_id >= 5000`);

      // Assess
      expect(stopped).toEqual({ batchItemFailures: [] });
      expect(more).toEqual([]);
      expect(left?.body).toMatchObject({
        operation: 'load-postgres',
        input: { ...input, loadId: expect.stringMatching(/./) },
        idempotencyKey: 'load-1:unfinished',
      });
      expect(left?.attributes).toMatchObject({
        errorName: 'UnavailableError',
        errorMessage: expect.stringContaining('/loadId'),
      });
      expect(redriven).toEqual({ batchItemFailures: [] });
      expect(rows.rows[0]).toEqual({ n: 150 });
      expect(await parked()).toEqual([]);
    } finally {
      delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
    }
  });

  it('moves a queued export-postgres that stopped to the dead-letter queue, and the redrive writes the manifest', async () => {
    // Prepare
    process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'] = aws.queueUrl(DLQ);
    const input = {
      table: TABLE,
      keyColumn: 'order_id',
      columns: ['order_id'],
      exportId: `queued-${suffix}`,
    };
    try {
      // Act
      const stopped = await connector.handler(
        sqsEvent([{ messageId: 'export-1', body: { operation: 'export-postgres', input } }]),
        lambdaContext({ remainingMs: 5_000 }),
      );
      const [left, ...more] = await parked();
      const redriven = left && (await connector.handler(sqsEvent([{ body: left.body }]), lambdaContext()));
      const manifest =
        left === undefined
          ? undefined
          : await s3.send(
              new GetObjectCommand({
                Bucket: 'data',
                Key: `transform/outputs/exports/queued-${suffix}/manifest.json`,
              }),
            );

      // Assess
      expect(stopped).toEqual({ batchItemFailures: [] });
      expect(more).toEqual([]);
      expect(left?.body).toMatchObject({
        operation: 'export-postgres',
        input,
        idempotencyKey: 'export-1:unfinished',
      });
      expect(left?.attributes).toMatchObject({
        errorName: 'UnavailableError',
        errorMessage: expect.stringContaining('/cursor'),
      });
      expect(redriven).toEqual({ batchItemFailures: [] });
      expect(JSON.parse((manifest && (await manifest.Body?.transformToString())) ?? '{}')).toMatchObject({
        exportId: `queued-${suffix}`,
      });
    } finally {
      delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
    }
  });
});
