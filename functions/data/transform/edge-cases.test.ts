/**
 * The loads' and exports' edge and failure paths against s3rver, the machine's PostgreSQL and MariaDB: no
 * database configured, an object whose records all filter out, values of every JSON type, a
 * `database.table` name, a value MariaDB would store altered, an export stopped before its first page, text
 * keys, and the MYSQL_MAX_ROWS cap on a default part size.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realMysqlUrl, scratchDatabase } from '../../../test/peers/mariadb.ts';
import { realPostgresUrl } from '../../../test/peers/postgres.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { TransformClient, type TransformOptions } from './client.ts';
import { clientOptions, TransformConfig } from './config.ts';

const suffix = `${process.pid}_${Date.now() % 100000}`;
const PG_TABLE = `transform_edge_${suffix}`;
const PG_MANIFEST = `transform_edge_parts_${suffix}`;

let peer: S3rverPeer;
let s3: S3Client;
let pgdb: pg.Client;
let mydb: mysql.Connection;
let scratch: { name: string; drop(): Promise<void> };
let options: TransformOptions;
const clients: TransformClient[] = [];
const savedEnv = { ...process.env };

async function put(key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }));
}

async function client(overrides: Partial<TransformOptions> = {}): Promise<TransformClient> {
  const made = await TransformClient.create({ ...options, ...overrides });
  clients.push(made);
  return made;
}

const plenty = (): number => 60_000;

beforeAll(async () => {
  peer = await startS3rver({ buckets: ['data'] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: peer.credentials,
  });
  pgdb = new pg.Client(realPostgresUrl());
  await pgdb.connect();
  await pgdb.query(
    `create table ${PG_TABLE} (id text primary key, flag boolean, amount numeric, doc jsonb, note text)`,
  );
  scratch = await scratchDatabase('transform_edge');
  const url = new URL(realMysqlUrl());
  url.pathname = `/${scratch.name}`;
  mydb = await mysql.createConnection({ uri: url.toString() });
  await mydb.query('create table items (id int primary key, name varchar(3), doc json, price decimal(5,2))');
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: peer.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    TRANSFORM_BUCKET: 'data',
    TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
    TRANSFORM_PG_MANIFEST_TABLE: PG_MANIFEST,
    TRANSFORM_MYSQL_MANIFEST_TABLE: 'edge_parts',
    PG_URL: realPostgresUrl(),
    PG_SSL: 'disable',
    MYSQL_URL: url.toString(),
    MYSQL_SSL: 'disable',
  });
  options = clientOptions(TransformConfig.parse(process.env));
}, 60_000);

afterAll(async () => {
  process.env = savedEnv;
  for (const made of clients) await made.close();
  await pgdb?.query(`drop table if exists ${PG_TABLE}`);
  await pgdb?.query(`drop table if exists ${PG_MANIFEST}`);
  await pgdb?.end();
  await mydb?.end();
  await scratch?.drop();
  s3?.destroy();
  await peer?.close();
});

describe('Bulk loads: edge and failure paths', () => {
  it('answers 500 configuration_error naming the setting when no database is configured', async () => {
    // Prepare
    const none = await client({ postgres: undefined, mysql: undefined });
    await put('edge/none.ndjson', '{"id":"1"}\n');
    const load = { source: { key: 'edge/none.ndjson' }, table: 'anything' };
    const dump = { table: 'anything', keyColumn: 'id', exportId: 'none' };

    // Act
    const failures = await Promise.all([
      none.loadPostgres(load, plenty).catch((error: unknown) => error),
      none.loadMysql(load, plenty).catch((error: unknown) => error),
      none.exportPostgres(dump, plenty).catch((error: unknown) => error),
      none.exportMysql(dump, plenty).catch((error: unknown) => error),
    ]);

    // Assess
    expect(failures.map((failure) => (failure as { code?: string }).code)).toEqual(
      Array(4).fill('configuration_error'),
    );
    expect(String(failures[0])).toContain('PG_URL');
    expect(String(failures[1])).toContain('MYSQL_URL');
  });

  it('copies booleans, numbers, objects, empty strings and nulls into PostgreSQL as their types', async () => {
    // Prepare
    const loader = await client();
    await put(
      'edge/types.ndjson',
      [
        { id: 'a', flag: true, amount: 1.5, doc: { k: [1, 'x'] }, note: '' },
        { id: 'b', flag: false, amount: 0, doc: null, note: 'say "hi", then\nleave' },
        { id: 'c' },
      ]
        .map((record) => JSON.stringify(record))
        .join('\n'),
    );

    // Act
    const answer = await loader.loadPostgres(
      {
        source: { key: 'edge/types.ndjson' },
        table: PG_TABLE,
        columns: ['id', 'flag', 'amount', 'doc', 'note'],
      },
      plenty,
    );
    const rows = await pgdb.query(`select id, flag, amount::text, doc, note from ${PG_TABLE} order by id`);

    // Assess
    expect(answer).toMatchObject({ done: true, rowsLoaded: 3 });
    expect(rows.rows).toEqual([
      { id: 'a', flag: true, amount: '1.5', doc: { k: [1, 'x'] }, note: '' },
      { id: 'b', flag: false, amount: '0', doc: null, note: 'say "hi", then\nleave' },
      { id: 'c', flag: null, amount: null, doc: null, note: null },
    ]);
  });

  it('records a part whose records all filter out as loaded with 0 rows, in PostgreSQL and MySQL', async () => {
    // Prepare
    const loader = await client();
    await put('edge/filtered.ndjson', '{"id":1}\n{"id":2}\n');
    const input = { source: { key: 'edge/filtered.ndjson' }, expression: 'id > 5 ? { "id": id }' };

    // Act
    const intoPg = await loader.loadPostgres(
      { ...input, table: PG_TABLE, loadId: `filtered-${suffix}` },
      plenty,
    );
    const intoMysql = await loader.loadMysql(
      { ...input, table: 'items', loadId: `filtered-${suffix}` },
      plenty,
    );
    const empty = await loader.loadPostgres(
      {
        source: { key: 'edge/filtered.ndjson' },
        table: PG_TABLE,
        loadId: `nothing-${suffix}`,
        partRecords: 1,
      },
      () => 1_000,
    );

    // Assess
    for (const answer of [intoPg, intoMysql]) {
      expect(answer).toMatchObject({ done: true, partsLoaded: 1, rowsLoaded: 0, read: 2, rejectedCount: 0 });
    }
    expect(empty).toMatchObject({ done: false, partsLoaded: 0, read: 0 });
    expect(empty.manifest).toBeUndefined();
  });

  it('loads into database.table on MySQL, and fails the part of a value too long or stored altered', async () => {
    // Prepare
    const loader = await client();
    await put('edge/items.ndjson', '{"id":1,"name":"abc","doc":{"a":1}}\n{"id":2,"name":"ab"}\n');
    await put('edge/long.ndjson', '{"id":3,"name":"abcdef"}\n');
    // Rounded with a note even in strict mode: stored altered, so the part fails.
    await put('edge/rounded.ndjson', '{"id":4,"price":1.234}\n');

    // Act
    const loaded = await loader.loadMysql(
      {
        source: { key: 'edge/items.ndjson' },
        table: `${scratch.name}.items`,
        columns: ['id', 'name', 'doc'],
      },
      plenty,
    );
    const altered = await loader
      .loadMysql({ source: { key: 'edge/long.ndjson' }, table: 'items' }, plenty)
      .catch((error: unknown) => error);
    const rounded = await loader
      .loadMysql({ source: { key: 'edge/rounded.ndjson' }, table: 'items' }, plenty)
      .catch((error: unknown) => error);
    const [rows] = await mydb.query('select id, name, doc from items order by id');

    // Assess
    expect(loaded).toMatchObject({ done: true, rowsLoaded: 2 });
    expect(altered).toMatchObject({ status: 400 });
    expect(rounded).toMatchObject({ status: 400 });
    expect(String(rounded)).toContain('changed or refused values');
    expect(rows).toEqual([
      { id: 1, name: 'abc', doc: { a: 1 } },
      { id: 2, name: 'ab', doc: null },
    ]);
  });
});

describe('Exports: edge and failure paths', () => {
  it('stops before the first page without a cursor, and exports text keys with the default part size', async () => {
    // Prepare
    const exporter = await client({ partRecords: 2 });
    const input = { table: PG_TABLE, keyColumn: 'id', exportId: `text-keys-${suffix}` };

    // Act
    const stopped = await exporter.exportPostgres(input, () => 1_000);
    const done = await exporter.exportPostgres(input, plenty);

    // Assess
    expect(stopped).toEqual({ done: false, parts: 0, rows: 0 });
    expect(done).toMatchObject({ done: true, parts: 2, rows: 3 });
  });

  it('refuses a default MySQL part size above MYSQL_MAX_ROWS as a configuration error', async () => {
    // Prepare
    const mysqlOptions = options.mysql;
    if (mysqlOptions === undefined) throw new Error('MYSQL_URL is set above');
    const exporter = await client({ mysqlPartRecords: 50, mysql: { ...mysqlOptions, maxRows: 10 } });

    // Act
    const failure = await exporter
      .exportMysql({ table: 'items', keyColumn: 'id', exportId: 'capped' }, plenty)
      .catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ code: 'configuration_error' });
    expect(String(failure)).toContain('MYSQL_MAX_ROWS');
  });
});

describe('test-expression: edge paths', () => {
  it('compiles without a sample, answers no result for nothing, and reports an evaluation error with its code', async () => {
    // Prepare
    const tester = await client();

    // Act
    const compiled = await tester.testExpression({ expression: 'a + b' });
    const nothing = await tester.testExpression({ expression: 'missing', sample: { a: 1 } });
    const failed = await tester.testExpression({
      expression: '$number(a) + $error("stop here")',
      sample: { a: '1' },
    });

    // Assess
    expect(compiled).toEqual({ valid: true });
    expect(nothing).toEqual({ valid: true });
    expect(failed).toMatchObject({ valid: true, error: { message: expect.stringContaining('stop here') } });
  });
});
