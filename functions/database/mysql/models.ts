/**
 * The MySQL/MariaDB connector's operation schemas: the SQL database interface's models, unchanged. MySQL
 * placeholders are `?`; a schema is a MySQL database (default: the connection's database).
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
