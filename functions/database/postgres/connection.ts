/** The PostgreSQL connection lives in the SQL kit (`shared/sql`), shared with the pgvector connector. */
export * from '#shared/sql/postgres-connection.ts';
