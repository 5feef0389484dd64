/** The MySQL/MariaDB connection lives in the SQL kit (`shared/sql`), shared with the Data Transform connector's load-mysql. */
export * from '#shared/sql/mysql-connection.ts';
