/** MySQL/MariaDB error mapping lives in the SQL kit (`shared/sql`) with the connection. */
export * from '#shared/sql/mysql-errors.ts';
