import { envBoolean, envInteger } from '@circle-core/core';
import * as z from 'zod';

/**
 * The PostgreSQL connector's settings; keys are environment variable names. Credentials come from the
 * Secrets Manager secret named by `PG_SECRET` (RDS secret JSON), or from `PG_URL` for local and dev
 * servers (PGlite, a laptop PostgreSQL); exactly one of the two must be set.
 */
export const PostgresConfig = z
  .object({
    PG_SECRET: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Secrets Manager secret name or ARN holding the credentials ({ username, password, host, port, dbname }, the RDS shape); exactly one of PG_SECRET and PG_URL',
      ),
    PG_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
      .optional()
      .describe(
        '`postgres://user:password@host:port/db`, for local and dev servers instead of PG_SECRET (exactly one of the two)',
      ),
    PG_HOST: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Overrides the secret's host, e.g. an RDS Proxy endpoint; required for RDS-managed secrets, which hold only username and password",
      ),
    PG_PORT: z.coerce.number().int().min(1).max(65_535).optional().describe("Overrides the secret's port"),
    PG_DATABASE: z.string().min(1).optional().describe("Overrides the secret's dbname"),
    PG_SSL: z
      .enum(['verify-full', 'disable'])
      .default('verify-full')
      .describe(
        '`verify-full`: TLS, certificate chain and host name verified; `disable`: plain TCP (local servers only). There is no `require` (TLS without verification): Circle Core never turns verification off',
      ),
    PG_STATEMENT_TIMEOUT_MS: envInteger(15_000, { min: 100, max: 900_000 }).describe(
      "The session's `statement_timeout`",
    ),
    PG_CONNECT_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 60_000 }).describe(
      "Connect timeout, also capped by the invocation's remaining time",
    ),
    PG_READ_ONLY: envBoolean(false).describe(
      'Read-only mode: every call runs in a read-only transaction; writes fail with ForbiddenError (403)',
    ),
    PG_MAX_ROWS: envInteger(10_000, { min: 1, max: 1_000_000 }).describe('Rows returned per result at most'),
    PG_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
      'How long the secret is cached in the container',
    ),
    PG_APPLICATION_NAME: z
      .string()
      .min(1)
      .max(63)
      .default('circle-core-postgres')
      .describe('`application_name` of the session (shows in `pg_stat_activity`)'),
  })
  .superRefine((config, context) => {
    if (config.PG_SECRET === undefined && config.PG_URL === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['PG_SECRET'],
        message: 'set PG_SECRET (a Secrets Manager secret name) or PG_URL (local and dev only)',
      });
    }
    if (config.PG_SECRET !== undefined && config.PG_URL !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['PG_URL'],
        message: 'set either PG_SECRET or PG_URL, not both',
      });
    }
  });

export type PostgresConfig = z.output<typeof PostgresConfig>;
