/**
 * load-mysql against s3rver and the machine's real MariaDB (batched multi-row INSERTs with bound values):
 * parts loaded once, a resumed load, a manifest, rejections by index, a duplicate key.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { httpEvent, lambdaContext, sqsEvent } from '@circle-core/core/testing';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { realMysqlUrl, scratchDatabase } from '../../../test/peers/mariadb.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { TransformClient } from './client.ts';
import { clientOptions, TransformConfig } from './config.ts';

const TABLE = 'orders';
const MANIFEST = 'load_parts';
const DLQ = `transform-dlq-${process.pid}`;

let peer: S3rverPeer;
let aws: AwsEndpointPeer;
let s3: S3Client;
let scratch: { name: string; drop(): Promise<void> };
let db: mysql.Connection;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<{ statusCode: number; body: string }> {
  const event = httpEvent({ path: `/transform/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as { statusCode: number; body: string };
}

async function put(key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
}

async function one(sql: string): Promise<Record<string, unknown>> {
  const [rows] = await db.query(sql);
  return (rows as Record<string, unknown>[])[0] ?? {};
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
  scratch = await scratchDatabase('transform_load');
  const url = new URL(realMysqlUrl());
  url.pathname = `/${scratch.name}`;
  db = await mysql.createConnection({ uri: url.toString() });
  await db.query(
    `create table ${TABLE} (order_id int primary key, customer varchar(100) not null, total_cents int, note text, tags json)`,
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: peer.endpoint,
    AWS_ENDPOINT_URL_SQS: aws.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    TRANSFORM_BUCKET: 'data',
    TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
    TRANSFORM_MYSQL_MANIFEST_TABLE: MANIFEST,
    TRANSFORM_MYSQL_PART_RECORDS: '100',
    MYSQL_URL: url.toString(),
    MYSQL_SSL: 'disable',
  });
  ({ connector } = await import('./index.ts'));
}, 60_000);

afterAll(async () => {
  process.env = savedEnv;
  await db?.end();
  await scratch?.drop();
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

describe('Operation: load-mysql', () => {
  it('inserts mapped records in parts, rejects bad ones by index, writes a manifest, and loads nothing twice', async () => {
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
    const first = JSON.parse((await call('load-mysql', input)).body);
    const again = JSON.parse((await call('load-mysql', input)).body);
    const counted = await one(
      `select count(*) as n, count(note) as notes, cast(sum(total_cents) as signed) as cents from ${TABLE}`,
    );
    const tags = await one(`select tags from ${TABLE} where order_id = 3`);
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
    expect(counted).toEqual({ n: 249, notes: 5, cents: (249 * 250 * 100) / 4 - 500 });
    expect(tags).toEqual({ tags: { c: 'EUR' } });
    expect(manifest).toMatchObject({ loadId: first.loadId, table: TABLE, rows: 249 });
    expect(manifest.parts.map((part: { name: string; rows: number }) => [part.name, part.rows])).toEqual([
      [`${first.loadId}#0`, 99],
      [`${first.loadId}#1`, 100],
      [`${first.loadId}#2`, 50],
    ]);
  }, 120_000);

  it('stops between parts when the time runs low and resumes with the same loadId, batching large parts', async () => {
    // Prepare: parts of 1,200 records, so each takes two multi-row INSERTs (at most 1,000 rows each)
    await put(
      'in/more.csv',
      `id,customer,total\n${Array.from({ length: 3000 }, (_, i) => `${1000 + i},m${i},${i}`).join('\n')}\n`,
    );
    const client = await TransformClient.create(clientOptions(TransformConfig.parse(process.env)));
    const input = {
      source: { key: 'in/more.csv' },
      table: TABLE,
      columns: ['order_id', 'customer', 'total_cents'],
      expression: '{ "order_id": $number(id), "customer": customer, "total_cents": $number(total) }',
      loadId: 'resume-1',
      partRecords: 1_200,
    };
    let checks = 0;
    // Plenty of time for part 0 (one check at its start, one per record evaluated), then too little.
    const timeLeft = () => (++checks <= 1_201 ? 60_000 : 1_000);

    try {
      // Act
      const stopped = await client.loadMysql(input, timeLeft);
      const resumed = await client.loadMysql(input, () => 60_000);
      const rows = await one(`select count(*) as n from ${TABLE} where order_id >= 1000`);
      const parts = await one(`select count(*) as n from ${MANIFEST} where load_id = 'resume-1'`);

      // Assess
      expect(stopped).toMatchObject({ loadId: 'resume-1', done: false, partsLoaded: 1, rowsLoaded: 1_200 });
      expect(stopped.manifest).toBeUndefined();
      expect(resumed).toMatchObject({ done: true, partsLoaded: 2, partsSkipped: 1, rowsLoaded: 1_800 });
      expect(rows).toEqual({ n: 3_000 });
      expect(parts).toEqual({ n: 3 });
    } finally {
      await client.close();
    }
  }, 120_000);

  it('answers a 409 when a part breaks a key, rolling the part and its claim back', async () => {
    // Prepare: ids 0..249 are in the table already; part 0 is new, part 1 repeats id 5
    await put('in/dupes.ndjson', `${ndjson(1, 9_000)}\n${ndjson(1, 5)}\n`);

    // Act
    const response = await call('load-mysql', {
      source: { key: 'in/dupes.ndjson' },
      table: TABLE,
      expression: '{ "order_id": id, "customer": customer }',
      partRecords: 1,
      loadId: 'dupes-1',
    });
    const listed = await one(`select count(*) as n from ${MANIFEST} where load_id = 'dupes-1'`);

    // Assess
    expect(response.statusCode).toBe(409);
    expect(listed).toEqual({ n: 1 });
  }, 120_000);

  it('creates its manifest table in every database a client loads into, not only the first', async () => {
    // Prepare: two clients in one process (library use), the same manifest table name, two databases.
    const other = await scratchDatabase('transform_other');
    const manifest = 'load_parts_each';
    const urlOf = (name: string): string => {
      const url = new URL(realMysqlUrl());
      url.pathname = `/${name}`;
      return url.toString();
    };
    const otherDb = await mysql.createConnection({ uri: urlOf(other.name) });
    const ddl = 'create table both_orders (order_id int primary key, customer varchar(100) not null)';
    await db.query(ddl);
    await otherDb.query(ddl);
    const options = (url: string) =>
      clientOptions(
        TransformConfig.parse({ ...process.env, MYSQL_URL: url, TRANSFORM_MYSQL_MANIFEST_TABLE: manifest }),
      );
    const here = await TransformClient.create(options(urlOf(scratch.name)));
    const there = await TransformClient.create(options(urlOf(other.name)));
    await put('in/both.ndjson', ndjson(3, 5000));
    const input = {
      source: { key: 'in/both.ndjson' },
      table: 'both_orders',
      expression: '{ "order_id": id, "customer": customer }',
    };

    try {
      // Act
      const first = await here.loadMysql(input, () => 60_000);
      const second = await there.loadMysql(input, () => 60_000);
      const [rows] = await otherDb.query('select count(*) as n from both_orders');

      // Assess
      expect(first).toMatchObject({ done: true, rowsLoaded: 3 });
      expect(second).toMatchObject({ done: true, rowsLoaded: 3 });
      expect(Number((rows as { n: unknown }[])[0]?.n)).toBe(3);
    } finally {
      await here.close();
      await there.close();
      await otherDb.end();
      await other.drop();
      await db.query(`drop table if exists both_orders, ${manifest}`);
    }
  });

  it('refuses a table name that is not an identifier, naming the field', async () => {
    // Act
    const response = await call('load-mysql', {
      source: { key: 'in/orders.ndjson' },
      table: 'orders`; drop',
    });

    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('table');
  });
});

describe('Queue trigger: a load or an export the time cut short', () => {
  it('moves a queued load-mysql that stopped to the dead-letter queue with its loadId, and the redrive finishes it', async () => {
    // Prepare: too little time for a part, as on a queue record near the function's timeout
    process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'] = aws.queueUrl(DLQ);
    await put(
      'in/queued.csv',
      `id,customer,total\n${Array.from({ length: 150 }, (_, i) => `${70000 + i},q${i},${i}`).join('\n')}\n`,
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
        sqsEvent([{ messageId: 'load-1', body: { operation: 'load-mysql', input } }]),
        lambdaContext({ remainingMs: 5_000 }),
      );
      const [left, ...more] = await parked();
      const redriven = left && (await connector.handler(sqsEvent([{ body: left.body }]), lambdaContext()));
      const rows = await one(`select count(*) as n from ${TABLE} where order_id between 70000 and 70149`);

      // Assess
      expect(stopped).toEqual({ batchItemFailures: [] });
      expect(more).toEqual([]);
      expect(left?.body).toMatchObject({
        operation: 'load-mysql',
        input: { ...input, loadId: expect.stringMatching(/./) },
        idempotencyKey: 'load-1:unfinished',
      });
      expect(left?.attributes).toMatchObject({
        errorName: 'UnavailableError',
        errorMessage: expect.stringContaining('/loadId'),
      });
      expect(redriven).toEqual({ batchItemFailures: [] });
      expect(Number(rows['n'])).toBe(150);
      expect(await parked()).toEqual([]);
    } finally {
      delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
    }
  });

  it('moves a queued export-mysql that stopped to the dead-letter queue, and the redrive writes the manifest', async () => {
    // Prepare
    process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'] = aws.queueUrl(DLQ);
    const input = { table: TABLE, keyColumn: 'order_id', columns: ['order_id'], exportId: 'queued-mysql' };
    try {
      // Act
      const stopped = await connector.handler(
        sqsEvent([{ messageId: 'export-1', body: { operation: 'export-mysql', input } }]),
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
                Key: `transform/outputs/exports/queued-mysql/manifest.json`,
              }),
            );

      // Assess
      expect(stopped).toEqual({ batchItemFailures: [] });
      expect(more).toEqual([]);
      expect(left?.body).toMatchObject({
        operation: 'export-mysql',
        input,
        idempotencyKey: 'export-1:unfinished',
      });
      expect(left?.attributes).toMatchObject({
        errorName: 'UnavailableError',
        errorMessage: expect.stringContaining('/cursor'),
      });
      expect(redriven).toEqual({ batchItemFailures: [] });
      expect(JSON.parse((manifest && (await manifest.Body?.transformToString())) ?? '{}')).toMatchObject({
        exportId: 'queued-mysql',
      });
    } finally {
      delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
    }
  });
});
