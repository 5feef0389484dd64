/**
 * export-mysql against s3rver and the machine's real MariaDB: a table written in key order as NDJSON, CSV and
 * Parquet parts, stopped when the time runs low and resumed from the cursor, a repeated part written to the
 * same key, a manifest, and clear errors for a missing table, a too large page and no database.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { httpEvent, lambdaContext } from '@circle-core/core/testing';
import { parquetReadObjects } from 'hyparquet';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realMysqlUrl, scratchDatabase } from '../../../test/peers/mariadb.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { TransformClient } from './client.ts';
import { clientOptions, TransformConfig } from './config.ts';

const TABLE = 'orders';

let peer: S3rverPeer;
let s3: S3Client;
let scratch: { name: string; drop(): Promise<void> };
let db: mysql.Connection;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<{ statusCode: number; body: string }> {
  const event = httpEvent({ path: `/transform/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as { statusCode: number; body: string };
}

async function text(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

async function bytes(key: string): Promise<ArrayBuffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
  const array = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
  return array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength) as ArrayBuffer;
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: prefix }));
  return (listed.Contents ?? []).map((item) => item.Key ?? '').sort();
}

beforeAll(async () => {
  peer = await startS3rver({ buckets: ['data'] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: peer.credentials,
  });
  scratch = await scratchDatabase('transform_export');
  const url = new URL(realMysqlUrl());
  url.pathname = `/${scratch.name}`;
  db = await mysql.createConnection({ uri: url.toString() });
  await db.query(
    `create table ${TABLE} (order_id int primary key, customer varchar(100) not null, total decimal(10,2), placed date, big bigint, tags json)`,
  );
  const rows = Array.from({ length: 250 }, (_, i) => [
    i * 2 + 1,
    `c${i}`,
    (i / 4).toFixed(2),
    `2026-01-${String((i % 28) + 1).padStart(2, '0')}`,
    i === 0 ? '9007199254740993' : String(i),
    JSON.stringify({ n: i }),
  ]);
  await db.query(`insert into ${TABLE} values ?`, [rows]);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: peer.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    TRANSFORM_BUCKET: 'data',
    TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
    TRANSFORM_MYSQL_PART_RECORDS: '100',
    MYSQL_URL: url.toString(),
    MYSQL_SSL: 'disable',
    MYSQL_MAX_ROWS: '500',
  });
  ({ connector } = await import('./index.ts'));
}, 60_000);

afterAll(async () => {
  process.env = savedEnv;
  await db?.end();
  await scratch?.drop();
  s3?.destroy();
  await peer?.close();
});

describe('Operation: export-mysql', () => {
  it('writes the table in key order as NDJSON parts and a manifest, values as the server reads them', async () => {
    // Act
    const answer = await call('export-mysql', {
      table: TABLE,
      keyColumn: 'order_id',
      exportId: 'all-ndjson',
    });
    const body = JSON.parse(answer.body);
    const manifest = JSON.parse(await text(body.manifest.key));
    const first = (await text(manifest.parts[0])).split('\n').filter((line) => line !== '');
    const last = (await text(manifest.parts[2])).split('\n').filter((line) => line !== '');

    // Assess
    expect(answer.statusCode, answer.body).toBe(200);
    expect(body).toMatchObject({ done: true, parts: 3, rows: 250 });
    expect(body.manifest.key).toBe('transform/outputs/exports/all-ndjson/manifest.json');
    expect(manifest).toEqual({
      exportId: 'all-ndjson',
      table: TABLE,
      format: 'ndjson',
      rows: 250,
      parts: [1, 2, 3].map((n) => `transform/outputs/exports/all-ndjson/part-0000${n}.ndjson`),
    });
    expect(first).toHaveLength(100);
    expect(JSON.parse(first[0] ?? '{}')).toEqual({
      order_id: 1,
      customer: 'c0',
      total: '0.00',
      placed: '2026-01-01',
      big: '9007199254740993',
      tags: { n: 0 },
    });
    expect(last).toHaveLength(50);
    expect(JSON.parse(last.at(-1) ?? '{}')).toMatchObject({ order_id: 499, customer: 'c249' });
  });

  it('stops when the time runs low, resumes from the cursor, and a repeated part lands on the same key', async () => {
    // Prepare
    const client = await TransformClient.create(clientOptions(TransformConfig.parse(process.env)));
    const input = {
      table: TABLE,
      keyColumn: 'order_id',
      columns: ['order_id', 'customer'],
      exportId: 'resumed',
      format: 'csv' as const,
      partRows: 120,
    };
    let checks = 0;

    try {
      // Act
      const stopped = await client.exportMysql(input, () => (++checks <= 1 ? 60_000 : 1_000));
      const again = await client.exportMysql(input, () => (++checks <= 3 ? 60_000 : 1_000));
      const resumed = await client.exportMysql({ ...input, cursor: stopped.cursor }, () => 60_000);
      const written = await keys('transform/outputs/exports/resumed/');
      const parts = await Promise.all(
        [1, 2, 3].map((n) => text(`transform/outputs/exports/resumed/part-0000${n}.csv`)),
      );

      // Assess
      expect(stopped).toEqual({
        done: false,
        parts: 1,
        rows: 120,
        cursor: { after: 239, parts: 1, rows: 120 },
      });
      expect(again).toMatchObject({ done: false, parts: 1, cursor: { after: 239 } });
      expect(resumed).toMatchObject({ done: true, parts: 3, rows: 250 });
      expect(written).toEqual([
        'transform/outputs/exports/resumed/manifest.json',
        'transform/outputs/exports/resumed/part-00001.csv',
        'transform/outputs/exports/resumed/part-00002.csv',
        'transform/outputs/exports/resumed/part-00003.csv',
      ]);
      expect(parts[0]?.split('\n').slice(0, 2)).toEqual(['order_id,customer', '1,c0']);
      expect(parts[1]?.split('\n')[1]).toBe('241,c120');
      const ids = parts.flatMap((part) =>
        part
          .split('\n')
          .slice(1)
          .filter((line) => line !== '')
          .map((line) => Number(line.split(',')[0])),
      );
      expect(ids).toEqual(Array.from({ length: 250 }, (_, i) => i * 2 + 1));
    } finally {
      await client.close();
    }
  });

  it('writes Parquet parts that read back with the same rows', async () => {
    // Act
    const answer = await call('export-mysql', {
      table: `${scratch.name}.${TABLE}`,
      keyColumn: 'order_id',
      columns: ['order_id', 'customer', 'total'],
      exportId: 'as-parquet',
      format: 'parquet',
      partRows: 200,
    });
    const body = JSON.parse(answer.body);
    const rows = [
      ...(await parquetReadObjects({
        file: await bytes('transform/outputs/exports/as-parquet/part-00001.parquet'),
      })),
      ...(await parquetReadObjects({
        file: await bytes('transform/outputs/exports/as-parquet/part-00002.parquet'),
      })),
    ];

    // Assess
    expect(answer.statusCode, answer.body).toBe(200);
    expect(body).toMatchObject({ done: true, parts: 2, rows: 250 });
    expect(rows).toHaveLength(250);
    expect(rows[3]).toEqual({ order_id: 7, customer: 'c3', total: '0.75' });
  });

  it('answers an empty table with a manifest of no parts', async () => {
    // Prepare
    await db.query('create table empty_orders (id int primary key)');

    // Act
    const answer = await call('export-mysql', { table: 'empty_orders', keyColumn: 'id', exportId: 'empty' });

    // Assess
    expect(answer.statusCode, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ done: true, parts: 0, rows: 0 });
    expect(JSON.parse(await text('transform/outputs/exports/empty/manifest.json'))).toMatchObject({
      rows: 0,
      parts: [],
    });
  });

  it('answers a missing table, a page above MYSQL_MAX_ROWS and a bad name with clear errors', async () => {
    // Act
    const missing = await call('export-mysql', {
      table: 'no_such_table',
      keyColumn: 'id',
      exportId: 'missing',
    });
    const tooLarge = await call('export-mysql', {
      table: TABLE,
      keyColumn: 'order_id',
      exportId: 'too-large',
      partRows: 501,
    });
    const badName = await call('export-mysql', { table: 'orders; drop', keyColumn: 'id', exportId: 'bad' });

    // Assess
    expect(missing.statusCode).toBeGreaterThanOrEqual(400);
    expect(missing.statusCode).toBeLessThan(500);
    expect(missing.body).toContain('no_such_table');
    expect(tooLarge.statusCode).toBe(400);
    expect(JSON.parse(tooLarge.body)).toMatchObject({
      errors: [{ pointer: '/partRows', message: expect.stringContaining('500') }],
    });
    expect(badName.statusCode).toBe(400);
    expect(badName.body).toContain('/table');
    expect(await keys('transform/outputs/exports/too-large/')).toEqual([]);
  });

  it('answers 500 configuration_error without a MySQL database', async () => {
    // Prepare
    const options = clientOptions(TransformConfig.parse({ ...process.env, MYSQL_URL: undefined }));
    const client = await TransformClient.create({ ...options, mysql: undefined });

    // Act
    const failure = await client
      .exportMysql({ table: TABLE, keyColumn: 'order_id', exportId: 'none' })
      .catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ code: 'configuration_error', status: 500 });
    expect(String(failure)).toContain('MYSQL_URL');
  });
});
