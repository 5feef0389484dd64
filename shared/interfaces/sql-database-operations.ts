/**
 * The SQL database interface's operations, declared once for every SQL connector (PostgreSQL, MySQL, ...):
 * a connector whose client implements {@link SqlDatabase} gets `query`, `execute`, `insert-rows`,
 * `list-tables` and `describe-table` with the interface's models, adjusting only the wording that names its
 * engine (what a "schema" is, what a placeholder looks like).
 */
import type { OperationBuilder } from '@circle-core/core';
import {
  DescribeTableInput,
  DescribeTableOutput,
  ExecuteInput,
  ExecuteOutput,
  InsertRowsInput,
  InsertRowsOutput,
  ListTablesInput,
  ListTablesOutput,
  QueryInput,
  QueryOutput,
} from '../models/sql-database.ts';
import type { SqlDatabase } from './sql-database.ts';

/** Engine words in the operations' descriptions. */
export interface SqlWording {
  /** How statements are bound, e.g. `parameterised` or `prepared`. */
  statements: string;
  /** What groups tables, e.g. `schema` (PostgreSQL) or `database` (MySQL). */
  namespace: string;
}

/**
 * The operation table of a SQL connector.
 *
 * @example
 * ```ts
 * defineConnector({ ..., operations: (op) => sqlDatabaseOperations(op, { statements: 'prepared', namespace: 'database' }) });
 * ```
 */
export function sqlDatabaseOperations<Config, Client extends SqlDatabase>(
  op: OperationBuilder<Config, Client>,
  wording: SqlWording,
) {
  return {
    query: op({
      description: `Runs one ${wording.statements} SQL statement and returns its rows, row count and columns`,
      input: QueryInput,
      output: QueryOutput,
      run: (input, { client }) => client.query(input),
    }),
    execute: op({
      effect: 'write',
      description: `Runs several ${wording.statements} statements in one transaction, all or nothing`,
      input: ExecuteInput,
      output: ExecuteOutput,
      run: (input, { client }) => client.execute(input),
    }),
    'insert-rows': op({
      effect: 'write',
      description: 'Inserts many rows into one table with batched multi-row INSERTs in one transaction',
      input: InsertRowsInput,
      output: InsertRowsOutput,
      run: (input, { client }) => client.insertRows(input),
    }),
    'list-tables': op({
      description: `Lists tables and views, optionally of one ${wording.namespace}`,
      input: ListTablesInput,
      output: ListTablesOutput,
      run: (input, { client }) => client.listTables(input),
    }),
    'describe-table': op({
      description: 'Describes a table: columns, types, nullability, defaults and primary key',
      input: DescribeTableInput,
      output: DescribeTableOutput,
      run: (input, { client }) => client.describeTable(input),
    }),
  };
}
