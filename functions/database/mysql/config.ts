import { envBoolean, envInteger } from '@circle-core/core';
import * as z from 'zod';

/**
 * The MySQL/MariaDB connector's settings; keys are environment variable names. Credentials come from the
 * Secrets Manager secret named by `MYSQL_SECRET` (RDS secret JSON), or from `MYSQL_URL` for local and dev
 * servers; exactly one of the two must be set.
 */
export const MysqlConfig = z
  .object({
    MYSQL_SECRET: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Secrets Manager secret name or ARN holding the credentials ({ username, password, host, port, dbname }, the RDS shape); exactly one of MYSQL_SECRET and MYSQL_URL',
      ),
    MYSQL_URL: z
      .string()
      .regex(/^(mysql|mariadb):\/\//, 'expected a mysql:// URL')
      .optional()
      .describe(
        '`mysql://user:password@host:port/db`, for local and dev servers instead of MYSQL_SECRET (exactly one of the two)',
      ),
    MYSQL_HOST: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Overrides the secret's host, e.g. an RDS Proxy endpoint; required for RDS-managed secrets, which hold only username and password",
      ),
    MYSQL_PORT: z.coerce.number().int().min(1).max(65_535).optional().describe("Overrides the secret's port"),
    MYSQL_DATABASE: z.string().min(1).optional().describe("Overrides the secret's dbname"),
    MYSQL_SSL: z
      .enum(['verify-full', 'disable'])
      .default('verify-full')
      .describe(
        '`verify-full`: TLS, certificate chain and host name verified; `disable`: plain TCP (local servers only). TLS verification is never turned off',
      ),
    MYSQL_IAM_AUTH: envBoolean(false).describe(
      'Sign an RDS IAM authentication token as the password at every connect (the secret or URL then names host, user and database only); needs MYSQL_SSL=verify-full',
    ),
    MYSQL_STATEMENT_TIMEOUT_MS: envInteger(15_000, { min: 100, max: 900_000 }).describe(
      'Server-side statement timeout (`max_statement_time` on MariaDB, `max_execution_time` for SELECT on MySQL)',
    ),
    MYSQL_CONNECT_TIMEOUT_MS: envInteger(5_000, { min: 100, max: 60_000 }).describe(
      "Connect timeout, also capped by the invocation's remaining time",
    ),
    MYSQL_READ_ONLY: envBoolean(false).describe(
      'Read-only mode: every call runs in a read-only transaction; writes fail with ForbiddenError (403)',
    ),
    MYSQL_MAX_ROWS: envInteger(10_000, { min: 1, max: 1_000_000 }).describe(
      'Rows returned per result at most',
    ),
    MYSQL_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
      'How long the secret is cached in the container',
    ),
  })
  .superRefine((config, context) => {
    if ((config.MYSQL_SECRET === undefined) === (config.MYSQL_URL === undefined)) {
      context.addIssue({
        code: 'custom',
        path: [config.MYSQL_SECRET === undefined ? 'MYSQL_SECRET' : 'MYSQL_URL'],
        message:
          'set exactly one of MYSQL_SECRET (a Secrets Manager secret name) and MYSQL_URL (local and dev only)',
      });
    }
    if (config.MYSQL_IAM_AUTH && config.MYSQL_SSL !== 'verify-full') {
      context.addIssue({
        code: 'custom',
        path: ['MYSQL_IAM_AUTH'],
        message: 'RDS IAM authentication sends the token in clear text: it needs MYSQL_SSL=verify-full',
      });
    }
  });

export type MysqlConfig = z.output<typeof MysqlConfig>;
