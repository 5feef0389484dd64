/** PostgreSQL's error mapping lives in the SQL kit (`shared/sql`), shared with the pgvector connector. */
export * from '#shared/sql/postgres-errors.ts';
