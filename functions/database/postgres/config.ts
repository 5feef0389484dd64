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
      .describe('Secret name or ARN holding { username, password, host, port, dbname } (RDS shape)'),
    PG_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
      .optional()
      .describe(
        'postgres://user[:password]@host[:port]/database, for local and dev use instead of PG_SECRET',
      ),
    PG_HOST: z.string().min(1).optional().describe('Overrides the secret host (e.g. an RDS Proxy endpoint)'),
    PG_PORT: z.coerce.number().int().min(1).max(65_535).optional().describe('Overrides the secret port'),
    PG_DATABASE: z.string().min(1).optional().describe('Overrides the secret dbname'),
    PG_SSL: z
      .enum(['verify-full', 'disable'])
      .default('verify-full')
      .describe('verify-full: TLS with certificate and host name checks; disable: plain TCP (local only)'),
    PG_STATEMENT_TIMEOUT_MS: envInteger(15_000, { min: 100, max: 900_000 }),
    PG_CONNECT_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 60_000 }),
    PG_READ_ONLY: envBoolean(false),
    PG_MAX_ROWS: envInteger(10_000, { min: 1, max: 1_000_000 }),
    PG_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }),
    PG_APPLICATION_NAME: z.string().min(1).max(63).default('circle-core-postgres'),
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
