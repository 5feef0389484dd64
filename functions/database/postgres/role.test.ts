import { readFileSync } from 'node:fs';
import { ForbiddenError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlCredentials } from '#shared/sql/credentials.ts';
import { realPostgresUrl, uniqueName, withPostgres } from '../../../test/peers/postgres.ts';
import { POSTGRES, PostgresClient } from './client.ts';

/**
 * The README's least-privilege role, as written: its SQL blocks run against the real server in a
 * database of their own (roles are per cluster, so every name gets a unique suffix), then the connector,
 * connected as that role, must do its work and be refused everything that reaches outside its tables.
 */

/** The ```sql blocks of the README's "Database role" section, in order. */
function readmeRoleSql(): string[] {
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## Database role (least privilege)');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

describe('README: the database role for production', () => {
  const suffix = uniqueName('role').slice('role_'.length);
  const names = {
    database: `sales_${suffix}`,
    owner: `sales_owner_${suffix}`,
    app: `circle_core_app_${suffix}`,
    reader: `circle_core_reader_${suffix}`,
  };
  const admin = realPostgresUrl();
  const inDatabase = (user?: string): string => {
    const url = new URL(admin);
    if (user !== undefined) {
      url.username = user;
      url.password = '';
    }
    url.pathname = `/${names.database}`;
    return url.toString();
  };
  /** The README's names, made unique: the database `sales` (not the schema), and the three roles. */
  const localise = (sql: string): string =>
    sql
      .replace(/\bdatabase sales\b/g, `database ${names.database}`)
      .replace(/\bsales_owner\b/g, names.owner)
      .replace(/\bcircle_core_app\b/g, names.app)
      .replace(/\bcircle_core_reader\b/g, names.reader);
  const connectAs = (user: string, readOnly = false): PostgresClient =>
    new PostgresClient({
      credentials: urlCredentials(inDatabase(user), POSTGRES),
      ssl: 'disable',
      statementTimeoutMs: 15_000,
      connectTimeoutMs: 5_000,
      readOnly,
      applicationName: 'circle-core-role-test',
    });
  let app: PostgresClient;
  let reader: PostgresClient;

  beforeAll(async () => {
    const blocks = readmeRoleSql();
    expect(blocks).toHaveLength(2);
    await withPostgres(admin, async (client) => {
      await client.query(`create database ${names.database}`);
      await client.query(`create role ${names.owner} nologin`);
    });
    await withPostgres(inDatabase(), async (client) => {
      await client.query(`create schema sales authorization ${names.owner}`);
      await client.query(`set role ${names.owner}`);
      await client.query('create table sales.orders (id serial primary key, customer text not null)');
      await client.query('create table sales.stock (sku text primary key, qty integer not null)');
      await client.query('reset role');
      // The README's SQL, each block as one script, as an administrator would paste it.
      for (const block of blocks) await client.query(localise(block));
    });
    app = connectAs(names.app);
    reader = connectAs(names.reader, true);
  });

  afterAll(async () => {
    await app?.close();
    await reader?.close();
    await withPostgres(admin, async (client) => {
      await client.query(`drop database if exists ${names.database} with (force)`);
      for (const role of [names.app, names.reader, names.owner])
        await client.query(`drop role if exists ${role}`);
    });
  });

  it('leaves the connector role without superuser, role, database or replication rights, and in no role', async () => {
    // Act
    const role = await withPostgres(admin, (client) =>
      client.query(
        `select rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
           (select count(*)::int from pg_auth_members where member = r.oid) as memberships
         from pg_roles r where rolname = $1`,
        [names.app],
      ),
    );
    // Assess
    expect(role.rows).toEqual([
      {
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        memberships: 0,
      },
    ]);
  });

  it('lets the connector read and write the granted tables, including one the owner creates later', async () => {
    // Prepare
    await withPostgres(inDatabase(), async (client) => {
      await client.query(`set role ${names.owner}`);
      await client.query('create table sales.later (id integer primary key)');
    });
    // Act
    const inserted = await app.query({
      sql: 'insert into sales.orders (customer) values ($1) returning id',
      params: ['c-42'],
    });
    await app.execute({
      statements: [
        { sql: 'insert into sales.stock (sku, qty) values ($1, $2)', params: ['tea', 3] },
        { sql: 'update sales.stock set qty = qty - $1 where sku = $2', params: [1, 'tea'] },
        { sql: 'delete from sales.orders where customer = $1', params: ['nobody'] },
      ],
    });
    const later = await app.insertRows({ schema: 'sales', table: 'later', rows: [{ id: 1 }] });
    const stock = await reader.query({ sql: 'select sku, qty from sales.stock' });
    // Assess
    expect(inserted.rows).toEqual([{ id: 1 }]);
    expect(later.inserted).toBe(1);
    expect(stock.rows).toEqual([{ sku: 'tea', qty: 2 }]);
  });

  const escapes: [string, string][] = [
    ['run a shell command on the server', "copy (select 1) to program 'cat > /dev/null'"],
    ['read a server file', "select pg_read_file('PG_VERSION')"],
    ['install dblink', 'create extension dblink'],
    ['create a table in public', 'create table public.intruder (id integer)'],
    ['create a table in its schema', 'create table sales.intruder (id integer)'],
    ['drop a table', 'drop table sales.stock'],
    ['truncate a table', 'truncate sales.orders'],
    ['create a role', 'create role intruder'],
  ];

  it.each(escapes)('refuses the connector role to %s with ForbiddenError', async (_, sql) => {
    // Act
    const attempt = app.query({ sql });
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
    await expect(attempt).rejects.toMatchObject({ details: { sqlstate: '42501' } });
  });

  it('lets the superuser the tests use locally do what the role is refused, so the refusals are the role', async () => {
    // Act: the statements that reach outside the database, as the local superuser, in the scratch database.
    const superuser = await withPostgres(inDatabase(), async (client) => {
      await client.query("copy (select 1) to program 'cat > /dev/null'");
      await client.query("select pg_read_file('PG_VERSION')");
      await client.query('create extension dblink');
      await client.query('drop extension dblink');
      return (await client.query('select rolsuper from pg_roles where rolname = current_user')).rows;
    });
    // Assess
    expect(superuser).toEqual([{ rolsuper: true }]);
  });

  it('refuses the reader role any write, whatever the connector is told', async () => {
    // Prepare: a reader role behind a connector that is (wrongly) not in read-only mode.
    const misconfigured = connectAs(names.reader);
    // Act
    const write = misconfigured.query({
      sql: 'insert into sales.stock (sku, qty) values ($1, $2)',
      params: ['x', 1],
    });
    // Assess
    await expect(write).rejects.toBeInstanceOf(ForbiddenError);
    await misconfigured.close();
  });
});
