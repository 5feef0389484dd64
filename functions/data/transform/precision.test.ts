/**
 * Numbers and times through a load and an export, against s3rver and the machine's real PostgreSQL and
 * MariaDB: integers beyond 2^53 and long decimals stay exact from NDJSON and CSV into the tables and back
 * out as NDJSON and CSV; dates do not move in a time zone west of UTC; microseconds are kept.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readParquet } from '#shared/data/parquet.ts';
import { realMysqlUrl, scratchDatabase } from '../../../test/peers/mariadb.ts';
import { realPostgresUrl } from '../../../test/peers/postgres.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { TransformClient } from './client.ts';
import { clientOptions, TransformConfig } from './config.ts';

const suffix = `${process.pid}_${Date.now() % 100000}`;
const PG_TABLE = `transform_exact_${suffix}`;

let peer: S3rverPeer;
let s3: S3Client;
let postgres: pg.Client;
let maria: mysql.Connection;
let scratch: { name: string; drop(): Promise<void> };
let client: TransformClient;
const savedEnv = { ...process.env };

async function put(key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
}

async function text(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

/** The first part an export wrote. */
async function firstPart(manifestKey: string | undefined): Promise<string> {
  const manifest = JSON.parse(await text(manifestKey ?? ''));
  return text(manifest.parts[0]);
}

beforeAll(async () => {
  process.env['TZ'] = 'America/Los_Angeles';
  peer = await startS3rver({ buckets: ['data'] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: peer.credentials,
  });
  postgres = new pg.Client(realPostgresUrl());
  await postgres.connect();
  await postgres.query(
    `create table ${PG_TABLE} (id int8 primary key, big int8, amount numeric(38,10), ratio float8, day date, at timestamptz, local timestamp)`,
  );
  scratch = await scratchDatabase('transform_exact');
  const url = new URL(realMysqlUrl());
  url.pathname = `/${scratch.name}`;
  maria = await mysql.createConnection({ uri: url.toString() });
  await maria.query(
    'create table exact (id bigint unsigned primary key, big bigint, amount decimal(65,30), ratio double, day date, at datetime(6))',
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: peer.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    TRANSFORM_BUCKET: 'data',
    TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
    TRANSFORM_PG_MANIFEST_TABLE: `transform_exact_parts_${suffix}`,
    TRANSFORM_MYSQL_MANIFEST_TABLE: 'exact_parts',
    PG_URL: realPostgresUrl(),
    PG_SSL: 'disable',
    MYSQL_URL: url.toString(),
    MYSQL_SSL: 'disable',
  });
  client = await TransformClient.create(clientOptions(TransformConfig.parse(process.env)));
}, 60_000);

afterAll(async () => {
  await client?.close();
  await postgres?.query(`drop table if exists ${PG_TABLE}`);
  await postgres?.query(`drop table if exists transform_exact_parts_${suffix}`);
  await postgres?.end();
  await maria?.end();
  await scratch?.drop();
  s3?.destroy();
  await peer?.close();
  process.env = savedEnv;
});

describe('PostgreSQL: load and export keep numbers and times exact', () => {
  it('loads NDJSON numbers a double cannot hold as written, and exports them as NDJSON and CSV unchanged', async () => {
    // Prepare
    await put(
      `in/exact-${suffix}.ndjson`,
      [
        '{"id": 9007199254740993, "big": 9223372036854775807, "amount": 12345678901234567890.1234567890, "ratio": 0.1, "day": "2024-03-10", "at": "2024-03-10 01:02:03.123456+00", "local": "1969-12-31 23:59:59.999999"}',
        '{"id": 2, "big": -9223372036854775808, "amount": 0.0000000001, "ratio": 1e300, "day": "0099-01-01 BC", "at": "infinity", "local": "12000-01-01 00:00:00.000001"}',
      ].join('\n'),
    );
    await put(
      `in/exact-${suffix}.csv`,
      'id,big,amount,ratio,day,at,local\n9007199254740995,9007199254740993,-0.0000000001,NaN,2024-12-31,2024-12-31 23:59:59.999999+00,2024-12-31 00:00:00\n',
    );

    // Act
    const ndjson = await client.loadPostgres({
      source: { key: `in/exact-${suffix}.ndjson` },
      table: PG_TABLE,
    });
    const csv = await client.loadPostgres({ source: { key: `in/exact-${suffix}.csv` }, table: PG_TABLE });
    const stored = await postgres.query(
      `select id::text, big::text, amount::text, ratio::text, day::text, to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as at, local::text from ${PG_TABLE} order by id`,
    );
    const base = {
      table: PG_TABLE,
      keyColumn: 'id',
      columns: ['id', 'big', 'amount', 'ratio', 'day', 'local'],
    };
    const asNdjson = await client.exportPostgres({ ...base, exportId: `exact-nd-${suffix}` });
    const asCsv = await client.exportPostgres({ ...base, exportId: `exact-csv-${suffix}`, format: 'csv' });

    // Assess
    expect([ndjson.rowsLoaded, csv.rowsLoaded]).toEqual([2, 1]);
    expect(stored.rows).toEqual([
      {
        id: '2',
        big: '-9223372036854775808',
        amount: '0.0000000001',
        ratio: '1e+300',
        day: '0099-01-01 BC',
        at: null,
        local: '12000-01-01 00:00:00.000001',
      },
      {
        id: '9007199254740993',
        big: '9223372036854775807',
        amount: '12345678901234567890.1234567890',
        ratio: '0.1',
        day: '2024-03-10',
        at: '2024-03-10 01:02:03.123456',
        local: '1969-12-31 23:59:59.999999',
      },
      {
        id: '9007199254740995',
        big: '9007199254740993',
        amount: '-0.0000000001',
        ratio: 'NaN',
        day: '2024-12-31',
        at: '2024-12-31 23:59:59.999999',
        local: '2024-12-31 00:00:00',
      },
    ]);
    expect((await firstPart(asNdjson.manifest?.key)).trimEnd().split('\n')).toEqual([
      '{"id":"2","big":"-9223372036854775808","amount":"0.0000000001","ratio":1e+300,"day":"0099-01-01 BC","local":"12000-01-01 00:00:00.000001"}',
      '{"id":"9007199254740993","big":"9223372036854775807","amount":"12345678901234567890.1234567890","ratio":0.1,"day":"2024-03-10","local":"1969-12-31 23:59:59.999999"}',
      '{"id":"9007199254740995","big":"9007199254740993","amount":"-0.0000000001","ratio":"NaN","day":"2024-12-31","local":"2024-12-31 00:00:00"}',
    ]);
    expect((await firstPart(asCsv.manifest?.key)).trimEnd().split('\n')).toEqual([
      'id,big,amount,ratio,day,local',
      '2,-9223372036854775808,0.0000000001,1e+300,0099-01-01 BC,12000-01-01 00:00:00.000001',
      '9007199254740993,9223372036854775807,12345678901234567890.1234567890,0.1,2024-03-10,1969-12-31 23:59:59.999999',
      '9007199254740995,9007199254740993,-0.0000000001,NaN,2024-12-31,2024-12-31 00:00:00',
    ]);
  });
});

describe('PostgreSQL: export to Parquet', () => {
  it('writes a double precision column holding NaN and Infinity as DOUBLE, not as a mix of numbers and text', async () => {
    // Prepare: the rows the load above left (ratios 1e300, 0.1, NaN), and one Infinity
    await postgres.query(`insert into ${PG_TABLE} (id, ratio) values (9007199254740999, 'Infinity')`);

    // Act
    const exported = await client.exportPostgres({
      table: PG_TABLE,
      keyColumn: 'id',
      columns: ['id', 'ratio'],
      exportId: `exact-pq-${suffix}`,
      format: 'parquet',
    });
    const manifest = JSON.parse(await text(exported.manifest?.key ?? ''));
    const object = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: manifest.parts[0] }));
    const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    const records: unknown[] = [];
    for await (const item of readParquet({
      byteLength: bytes.length,
      read: async (start, end) => bytes.subarray(start, end),
    }))
      records.push('record' in item ? item.record : item);

    // Assess: the reader answers JSON, where NaN and Infinity have no number: their text, as NDJSON carries them
    expect(records).toEqual([
      { id: '2', ratio: 1e300 },
      { id: '9007199254740993', ratio: 0.1 },
      { id: '9007199254740995', ratio: 'NaN' },
      { id: '9007199254740999', ratio: 'Infinity' },
    ]);
  });

  it('loads its own Parquet export back into a double precision column with NaN and Infinity as written', async () => {
    // Prepare: an export of the table above (ratios 1e300, 0.1, NaN, Infinity) and an empty copy of its shape
    const copy = `${PG_TABLE}_back`;
    await postgres.query(`create table ${copy} (id int8 primary key, ratio float8)`);
    const exported = await client.exportPostgres({
      table: PG_TABLE,
      keyColumn: 'id',
      columns: ['id', 'ratio'],
      exportId: `exact-pq-back-${suffix}`,
      format: 'parquet',
    });
    const manifest = JSON.parse(await text(exported.manifest?.key ?? ''));

    // Act
    const loaded = await client.loadPostgres({ source: { key: manifest.parts[0] }, table: copy });
    const stored = await postgres.query(`select id::text, ratio::text from ${copy} order by id`);
    await postgres.query(`drop table ${copy}`);

    // Assess: each value as the source table held it (the reader answered null for NaN and Infinity before)
    expect(loaded.rowsLoaded).toBe(4);
    expect(stored.rows).toEqual([
      { id: '2', ratio: '1e+300' },
      { id: '9007199254740993', ratio: '0.1' },
      { id: '9007199254740995', ratio: 'NaN' },
      { id: '9007199254740999', ratio: 'Infinity' },
    ]);
  });
});

describe('MySQL/MariaDB: load and export keep numbers and times exact', () => {
  it('loads NDJSON numbers a double cannot hold as written, and exports them as NDJSON and CSV unchanged', async () => {
    // Prepare
    await put(
      `in/exact-my-${suffix}.ndjson`,
      [
        '{"id": 18446744073709551615, "big": -9223372036854775808, "amount": 12345678901234567890123456789012345.123456789012345678901234567890, "ratio": 0.1, "day": "1000-01-01", "at": "9999-12-31 23:59:59.999999"}',
        '{"id": 9007199254740993, "big": 9007199254740993, "amount": 0.1, "ratio": 1e300, "day": "2024-03-10", "at": "1969-12-31 23:59:59.000001"}',
      ].join('\n'),
    );
    await put(
      `in/exact-my-${suffix}.csv`,
      'id,big,amount,ratio,day,at\n9007199254740995,9223372036854775807,-0.000000000000000000000000000001,-0.5,2024-12-31,2024-12-31 00:00:00.5\n',
    );

    // Act
    const ndjson = await client.loadMysql({
      source: { key: `in/exact-my-${suffix}.ndjson` },
      table: 'exact',
    });
    const csv = await client.loadMysql({ source: { key: `in/exact-my-${suffix}.csv` }, table: 'exact' });
    const [stored] = await maria.query(
      'select cast(id as char) id, cast(big as char) big, cast(amount as char) amount, ratio, cast(day as char) day, cast(at as char) at from exact order by exact.id',
    );
    const base = { table: 'exact', keyColumn: 'id', columns: ['id', 'big', 'amount', 'ratio', 'day', 'at'] };
    const asNdjson = await client.exportMysql({ ...base, exportId: `exact-my-nd-${suffix}` });
    const asCsv = await client.exportMysql({ ...base, exportId: `exact-my-csv-${suffix}`, format: 'csv' });

    // Assess
    expect([ndjson.rowsLoaded, csv.rowsLoaded]).toEqual([2, 1]);
    const rows = [
      {
        id: '9007199254740993',
        big: '9007199254740993',
        amount: '0.100000000000000000000000000000',
        ratio: 1e300,
        day: '2024-03-10',
        at: '1969-12-31 23:59:59.000001',
      },
      {
        id: '9007199254740995',
        big: '9223372036854775807',
        amount: '-0.000000000000000000000000000001',
        ratio: -0.5,
        day: '2024-12-31',
        at: '2024-12-31 00:00:00.500000',
      },
      {
        id: '18446744073709551615',
        big: '-9223372036854775808',
        amount: '12345678901234567890123456789012345.123456789012345678901234567890',
        ratio: 0.1,
        day: '1000-01-01',
        at: '9999-12-31 23:59:59.999999',
      },
    ];
    expect(stored).toEqual(rows);
    expect((await firstPart(asNdjson.manifest?.key)).trimEnd().split('\n')).toEqual(
      rows.map((row) => JSON.stringify(row)),
    );
    expect((await firstPart(asCsv.manifest?.key)).trimEnd().split('\n')).toEqual([
      'id,big,amount,ratio,day,at',
      ...rows.map((row) => Object.values(row).map(String).join(',')),
    ]);
  });
});

describe('transform-records: numbers read from an object', () => {
  it('keeps NDJSON numbers a double cannot hold as their text, inline and in an output object', async () => {
    // Prepare
    const lines = [
      '{"id": 9007199254740993, "big": 18446744073709551615, "amount": 12345678901234567890.1234567890, "ratio": 0.1, "qty": 2}',
      '{"id": 1, "nested": {"n": 9223372036854775807, "list": [9007199254740993, 1.5]}, "huge": 1e400}',
    ].join('\n');
    await put(`in/records-${suffix}.ndjson`, lines);
    await put(`in/records-${suffix}.json`, lines);

    // Act
    const inline = await client.transformRecords(
      { expression: '$', records: { key: `in/records-${suffix}.ndjson` } },
      `exact-inline-${suffix}`,
    );
    const fromJsonKey = await client.transformRecords(
      { expression: '$', records: { key: `in/records-${suffix}.json` } },
      `exact-json-${suffix}`,
    );
    const toObject = await client.transformRecords(
      {
        expression: '{ "id": id, "big": big, "amount": amount }',
        records: { key: `in/records-${suffix}.ndjson`, format: 'ndjson' },
        output: { key: `out/records-${suffix}.ndjson`, format: 'ndjson' },
      },
      `exact-object-${suffix}`,
    );

    // Assert
    const expected = [
      {
        id: '9007199254740993',
        big: '18446744073709551615',
        amount: '12345678901234567890.1234567890',
        ratio: 0.1,
        qty: 2,
      },
      { id: 1, nested: { n: '9223372036854775807', list: ['9007199254740993', 1.5] }, huge: '1e400' },
    ];
    expect(inline.records).toEqual(expected);
    expect(fromJsonKey.records).toEqual(expected);
    expect((await text(`out/records-${suffix}.ndjson`)).trimEnd().split('\n')).toEqual([
      '{"id":"9007199254740993","big":"18446744073709551615","amount":"12345678901234567890.1234567890"}',
      '{"id":1}',
    ]);
    expect(toObject.written).toBe(2);
  });

  it('leaves CSV values as the text they already were', async () => {
    // Prepare
    await put(
      `in/records-${suffix}.csv`,
      'id,ratio,amount\n9007199254740993,0.1,12345678901234567890.1234567890\n',
    );

    // Act
    const result = await client.transformRecords(
      { expression: '$', records: { key: `in/records-${suffix}.csv` } },
      `exact-csv-${suffix}`,
    );

    // Assert
    expect(result.records).toEqual([
      { id: '9007199254740993', ratio: '0.1', amount: '12345678901234567890.1234567890' },
    ]);
  });
});
