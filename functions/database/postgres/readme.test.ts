/**
 * The README's operation examples, run as written against the machine's PostgreSQL, in a database of
 * this test's own (so `list-tables` sees only the README's tables): the tables they read and write are
 * created as the examples describe them (`sales.orders` as `describe-table` answers, `users`, `orders` and
 * `stock` for `query` and `execute`), each request body of the `query`, `execute`, `insert-rows`,
 * `list-tables`, `describe-table` and `health` sections goes to the connector, and its answer must equal the README's
 * answer; the failing `execute` must answer the README's problem. A README example that drifts from what
 * the connector returns fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { realPostgresUrl, uniqueName, withPostgres } from '../../../test/peers/postgres.ts';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const README = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');

/** The JSON blocks of the README section `### \`<operation>\``, in order. */
function blocks(operation: string): unknown[] {
  const section = README.split(`### \`${operation}\``)[1]?.split(/\n### /)[0] ?? '';
  return [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1] ?? ''));
}

const database = uniqueName('readme_pg');
const url = new URL(realPostgresUrl());
url.pathname = `/${database}`;
let handler: Handler;

async function task(operation: string, input: unknown): Promise<unknown> {
  return handler(
    { operation, input, idempotencyKey: `readme-${operation}-${Math.random()}`, trigger: 'task' },
    lambdaContext(),
  );
}

beforeAll(async () => {
  await withPostgres(realPostgresUrl(), (client) => client.query(`create database ${database}`));
  await withPostgres(url.toString(), async (client) => {
    await client.query(`create schema sales`);
    await client.query(`create table sales.orders (
      id integer primary key,
      customer varchar(64) not null,
      total numeric(10, 2),
      created_at timestamptz not null default now())`);
    await client.query(`create view sales.order_totals as select customer, sum(total) as total
      from sales.orders group by customer`);
    await client.query(`create table users (id integer primary key, email text, created_at timestamptz)`);
    await client.query(`insert into users values (3, 'old@example.com', '2023-12-31 00:00:00+00'),
      (7, 'ada@example.com', '2024-03-05 10:11:12.5+00'), (9, 'grace@example.com', '2024-03-06 08:00:00+00'),
      (11, 'later@example.com', '2024-03-07 08:00:00+00')`);
    await client.query(`create table orders (id integer primary key, customer text)`);
    await client.query(`create table stock (sku text primary key, qty integer check (qty >= 0))`);
    await client.query(`insert into stock values ('tea', 1)`);
  });
  vi.stubEnv('PG_URL', url.toString());
  vi.stubEnv('PG_SSL', 'disable');
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  // The connector's own connection ends with the database (force).
  await withPostgres(realPostgresUrl(), (client) =>
    client.query(`drop database if exists ${database} with (force)`),
  );
});

describe('README examples', () => {
  it.each(['query', 'insert-rows', 'list-tables', 'describe-table'])(
    '%s answers as the README shows',
    async (operation) => {
      // Arrange
      const [request, answer] = blocks(operation);

      // Act
      const out = await task(operation, request);

      // Assert
      expect(out).toEqual(answer);
    },
  );

  it('health answers as the README shows, with this version', async () => {
    // Arrange
    const [answer] = blocks('health');

    // Act
    const out = await handler({ operation: 'health', trigger: 'task' }, lambdaContext());

    // Assert
    expect(out).toEqual(answer);
  });

  it('execute answers as the README shows, and its failure is the README problem', async () => {
    // Arrange
    const [request, answer, problem] = blocks('execute');

    // Act
    const out = await task('execute', request);
    // The stock is now 0: the same statements again (without the order) break the check constraint.
    await withPostgres(url.toString(), (client) => client.query('delete from orders where id = 1001'));
    const failed = (await handler(
      httpEvent({ path: '/postgres/execute', body: request, headers: { 'idempotency-key': 'readme-fail' } }),
      lambdaContext(),
    )) as { statusCode: number; body: string };

    // Assert
    expect(out).toEqual(answer);
    expect({ status: failed.statusCode, ...JSON.parse(failed.body) }).toMatchObject({
      status: (problem as { status: number }).status,
      ...(problem as object),
    });
  });
});
