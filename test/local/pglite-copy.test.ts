/**
 * `COPY ... FROM STDIN` on the local stack's embedded PostgreSQL (PGlite behind the wire protocol, with the
 * shim of scripts/local/stores/pglite-copy.ts), through the clients people use: pg with pg-copy-streams
 * (what load-postgres runs) and psql's `\copy`.
 */
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedStore, startPostgres } from '../../scripts/local/stores/embedded.ts';

let store: EmbeddedStore;
let client: pg.Client;

async function copy(
  target: pg.Client,
  sql: string,
  chunks: Iterable<string> | AsyncIterable<string>,
): Promise<number> {
  const stream = target.query(copyFrom(sql));
  await pipeline(Readable.from(chunks), stream);
  return stream.rowCount;
}

async function rows(sql: string): Promise<unknown[]> {
  return (await client.query(sql)).rows;
}

function psql(args: string[], input: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'psql',
      [store.url, '-X', ...args],
      { encoding: 'utf8' },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: `${stdout}${stderr}` });
      },
    );
    child.stdin?.end(input);
  });
}

const hasPsql = await new Promise<boolean>((resolve) => {
  execFile('psql', ['--version'], (error) => resolve(error === null));
});

beforeAll(async () => {
  store = await startPostgres({ directory: undefined });
  client = new pg.Client(store.url);
  await client.connect();
}, 60_000);

afterAll(async () => {
  await client?.end();
  await store?.close();
});

describe('Embedded PostgreSQL: COPY FROM STDIN', () => {
  it('copies CSV sent in several CopyData messages and answers the row count', async () => {
    // Prepare
    await client.query('create table copy_csv (id integer primary key, name text, note text)');

    // Act
    const count = await copy(client, 'copy copy_csv (id, name, note) from stdin with (format csv)', [
      '1,"Ada",""\n2,',
      '"Grace, Hopper",\n3,"multi\nline","x"\n',
    ]);

    // Assess
    expect(count).toBe(3);
    expect(await rows('select id, name, note from copy_csv order by id')).toEqual([
      { id: 1, name: 'Ada', note: '' },
      { id: 2, name: 'Grace, Hopper', note: null },
      { id: 3, name: 'multi\nline', note: 'x' },
    ]);
  });

  it('copies text format and an empty input', async () => {
    // Prepare
    await client.query('create table copy_text (id integer, name text)');

    // Act
    const count = await copy(client, 'COPY copy_text FROM STDIN', ['1\tone\n2\t\\N\n']);
    const none = await copy(client, 'copy copy_text from stdin', []);

    // Assess
    expect(count).toBe(2);
    expect(none).toBe(0);
    expect(await rows('select id, name from copy_text order by id')).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: null },
    ]);
  });

  it('answers a refused row with the server error and rolls the transaction back with it', async () => {
    // Prepare
    await client.query('create table copy_tx (id integer primary key)');
    await client.query('begin');
    await client.query('insert into copy_tx values (100)');

    // Act
    const failure = await copy(client, 'copy copy_tx (id) from stdin with (format csv)', ['1\n1\n']).catch(
      (error: unknown) => error as pg.DatabaseError,
    );
    const aborted = await client.query('select 1').catch((error: unknown) => error as pg.DatabaseError);
    await client.query('rollback');

    // Assess
    expect(failure).toMatchObject({ code: '23505' });
    expect(aborted).toMatchObject({ code: '25P02' });
    expect(await rows('select count(*)::int as n from copy_tx')).toEqual([{ n: 0 }]);
  });

  it('turns a CopyFail into the error PostgreSQL raises, and the connection goes on', async () => {
    // Prepare
    await client.query('create table copy_fail (id integer)');
    async function* broken(): AsyncGenerator<string> {
      yield '1\n';
      throw new Error("source went away, it's gone");
    }

    // Act
    const failure = await copy(client, 'copy copy_fail from stdin', broken()).catch(
      (error: unknown) => error,
    );
    const after = await rows('select count(*)::int as n from copy_fail');

    // Assess
    expect(String(failure)).toContain('source went away');
    expect(after).toEqual([{ n: 0 }]);
  });

  it('keeps two connections’ COPYs apart', async () => {
    // Prepare
    await client.query('create table copy_two (source text, n integer)');
    const other = new pg.Client(store.url);
    await other.connect();

    // Act
    const counts = await Promise.all([
      copy(client, 'copy copy_two from stdin with (format csv)', ['a,1\na,2\n']),
      copy(other, 'copy copy_two from stdin with (format csv)', ['b,1\nb,2\nb,3\n']),
    ]);
    await other.end();

    // Assess
    expect(counts).toEqual([2, 3]);
    expect(
      await rows('select source, count(*)::int as n from copy_two group by source order by source'),
    ).toEqual([
      { source: 'a', n: 2 },
      { source: 'b', n: 3 },
    ]);
  });

  it.skipIf(!hasPsql)('takes psql’s \\copy, end-of-data marker included', async () => {
    // Prepare
    await client.query('create table copy_psql (id integer, name text)');

    // Act
    const csv = await psql(['-c', '\\copy copy_psql from stdin with (format csv)'], '1,a\n2,b\n\\.\n');
    const text = await psql(['-c', '\\copy copy_psql from stdin'], '3\tc\n');
    const bad = await psql(['-c', '\\copy copy_psql from stdin with (format csv)'], '4,d\nx,e\n');

    // Assess
    expect(csv).toMatchObject({ code: 0, output: expect.stringContaining('COPY 2') });
    expect(text).toMatchObject({ code: 0, output: expect.stringContaining('COPY 1') });
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('invalid input syntax for type integer: "x"');
    expect(await rows('select id from copy_psql order by id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });
});
