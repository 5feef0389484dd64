/**
 * The README's operation examples, run as the README says they run: in its order, starting with the
 * `create table` of the `query` section, against the machine's MariaDB. Only the database differs: a
 * scratch database of this test stands for `test` (the README's `schema`), so other suites' tables do not
 * show in `list-tables`. Each answer must equal the README's answer (`query`: the one after `insert-rows`).
 * A README example that drifts from what the connector returns fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { realMysqlUrl, scratchDatabase } from '../../../test/peers/mariadb.ts';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const README = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');

/** The JSON blocks of the README section `### \`<operation>\``, in order. */
function blocks(operation: string): unknown[] {
  const section = README.split(`### \`${operation}\``)[1]?.split(/\n### /)[0] ?? '';
  return [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1] ?? ''));
}

let database: { name: string; drop(): Promise<void> };
let handler: Handler;

/** The README's database `test` as this test's scratch database, and back. */
const toScratch = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value).replaceAll('"schema":"test"', `"schema":"${database.name}"`));

async function task(operation: string, input: unknown): Promise<unknown> {
  const out = await handler(
    { operation, input: toScratch(input), idempotencyKey: `readme-${operation}`, trigger: 'task' },
    lambdaContext(),
  );
  return toScratch(out);
}

beforeAll(async () => {
  database = await scratchDatabase('readme');
  const url = new URL(realMysqlUrl());
  url.pathname = `/${database.name}`;
  vi.stubEnv('MYSQL_URL', url.toString());
  vi.stubEnv('MYSQL_SSL', 'disable');
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await database?.drop();
});

describe('README examples', () => {
  it('answer as the README shows, run in its order', async () => {
    // Arrange
    const [create, select, selected] = blocks('query');
    const [statements, executed] = blocks('execute');
    const [rows, inserted] = blocks('insert-rows');
    const [schema, tables] = blocks('list-tables');
    const [table, described] = blocks('describe-table');

    // Act
    await task('query', create);
    const answers = {
      execute: await task('execute', statements),
      'insert-rows': await task('insert-rows', rows),
      'list-tables': await task('list-tables', schema),
      'describe-table': await task('describe-table', table),
      query: await task('query', select),
    };

    // Assert
    expect(answers).toEqual({
      execute: executed,
      'insert-rows': inserted,
      'list-tables': toScratch(tables),
      'describe-table': toScratch(described),
      query: selected,
    });
  });
});
