import { envBoolean } from '@circle-core/core';
import * as z from 'zod';
import { refineCredentialChoice, sqlSettings } from '#shared/sql/settings.ts';
import { MYSQL } from './client.ts';

/**
 * The MySQL/MariaDB connector's settings; keys are environment variable names. Credentials come from the
 * Secrets Manager secret named by `MYSQL_SECRET` (RDS secret JSON), or from `MYSQL_URL` for local and dev
 * servers; exactly one of the two must be set.
 */
export const MysqlConfig = z
  .object({
    /** MYSQL_SECRET, MYSQL_URL, MYSQL_HOST, ..., MYSQL_SSL, timeouts, read-only, rows, secret age. */
    ...sqlSettings(MYSQL, {
      ssl: '`verify-full`: TLS, certificate chain and host name verified; `disable`: plain TCP (local servers only). TLS verification is never turned off',
      statementTimeout:
        'Server-side statement timeout (`max_statement_time` on MariaDB, `max_execution_time` for SELECT on MySQL)',
    }),
    MYSQL_IAM_AUTH: envBoolean(false).describe(
      'Sign an RDS IAM authentication token as the password at every connect (the secret or URL then names host, user and database only); needs MYSQL_SSL=verify-full',
    ),
  })
  .superRefine(refineCredentialChoice('MYSQL'))
  .superRefine((config, context) => {
    if (config.MYSQL_IAM_AUTH && config.MYSQL_SSL !== 'verify-full') {
      context.addIssue({
        code: 'custom',
        path: ['MYSQL_IAM_AUTH'],
        message: 'RDS IAM authentication sends the token in clear text: it needs MYSQL_SSL=verify-full',
      });
    }
  });

export type MysqlConfig = z.output<typeof MysqlConfig>;
