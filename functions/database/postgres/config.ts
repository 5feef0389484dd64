import * as z from 'zod';
import { refineCredentialChoice, sqlSettings } from '#shared/sql/settings.ts';
import { POSTGRES } from './client.ts';

/**
 * The PostgreSQL connector's settings; keys are environment variable names. Credentials come from the
 * Secrets Manager secret named by `PG_SECRET` (RDS secret JSON), or from `PG_URL` for local and dev
 * servers (PGlite, a laptop PostgreSQL); exactly one of the two must be set.
 */
export const PostgresConfig = z
  .object({
    /** PG_SECRET, PG_URL, PG_HOST, PG_PORT, PG_DATABASE, PG_SSL, timeouts, read-only, rows, secret age. */
    ...sqlSettings(POSTGRES, { statementTimeout: "The session's `statement_timeout`" }),
    PG_APPLICATION_NAME: z
      .string()
      .min(1)
      .max(63)
      .default('circle-core-postgres')
      .describe('`application_name` of the session (shows in `pg_stat_activity`)'),
  })
  .superRefine(refineCredentialChoice('PG'));

export type PostgresConfig = z.output<typeof PostgresConfig>;
