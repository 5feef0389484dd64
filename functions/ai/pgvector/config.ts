import * as z from 'zod';
import type { EngineFacts } from '#shared/sql/credentials.ts';
import { refineCredentialChoice, sqlSettings } from '#shared/sql/settings.ts';

/** PostgreSQL's facts, under the same `PG_` settings as the PostgreSQL connector. */
export const PGVECTOR_ENGINE = {
  name: 'PostgreSQL',
  prefix: 'PG',
  schemes: ['postgres', 'postgresql'],
  engine: /postgres/,
  defaultPort: 5432,
  defaultUser: 'postgres',
  defaultDatabase: 'postgres',
} as const satisfies EngineFacts;

/**
 * The pgvector connector's settings; keys are environment variable names. Credentials come from the
 * Secrets Manager secret named by `PG_SECRET` (RDS secret JSON), or from `PG_URL` for local and dev
 * servers (PGlite with its vector extension, a laptop PostgreSQL); exactly one of the two must be set.
 */
export const PgvectorConfig = z
  .object({
    /** PG_SECRET, PG_URL, PG_HOST, PG_PORT, PG_DATABASE, PG_SSL, timeouts, read-only, rows, secret age. */
    ...sqlSettings(PGVECTOR_ENGINE, { statementTimeout: "The session's `statement_timeout`" }),
    PG_APPLICATION_NAME: z
      .string()
      .min(1)
      .max(63)
      .default('circle-core-pgvector')
      .describe('`application_name` of the session (shows in `pg_stat_activity`)'),
    PGVECTOR_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lowercase PostgreSQL identifier')
      .default('public')
      .describe('Schema holding one table per collection'),
  })
  .superRefine(refineCredentialChoice('PG'));

export type PgvectorConfig = z.output<typeof PgvectorConfig>;
