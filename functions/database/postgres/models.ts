/**
 * The PostgreSQL connector's operation schemas: the SQL database interface's models, unchanged. PostgreSQL
 * placeholders are `$1`, `$2`, ...; a schema is a PostgreSQL schema (default: the search path's first).
 */
export {
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
} from '#shared/models/sql-database.ts';
