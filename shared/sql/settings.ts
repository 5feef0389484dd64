/**
 * The settings every SQL connector has, declared once per engine prefix (`PG`, `MYSQL`): where the
 * credentials come from (`<P>_SECRET` or `<P>_URL`, with host, port and database overrides), TLS, the
 * timeouts, read-only mode, the row cap and the secret's cache age; and the credentials they name.
 */
import { envBoolean, envInteger } from '@circle-core/core';
import * as z from 'zod';
import { credentialsFrom, type DatabaseCredentials, type EngineFacts } from './credentials.ts';

/** The zod shape of the SQL settings for prefix `P`, to spread into a connector's config. */
export type SqlSettingsShape<P extends string> = {
  [K in `${P}_SECRET` | `${P}_URL` | `${P}_HOST` | `${P}_DATABASE`]: z.ZodOptional<z.ZodString>;
} & { [K in `${P}_PORT`]: z.ZodOptional<z.ZodCoercedNumber<unknown>> } & {
  [K in `${P}_SSL`]: z.ZodDefault<z.ZodEnum<{ 'verify-full': 'verify-full'; disable: 'disable' }>>;
} & {
  [K in
    | `${P}_STATEMENT_TIMEOUT_MS`
    | `${P}_CONNECT_TIMEOUT_MS`
    | `${P}_MAX_ROWS`
    | `${P}_SECRET_MAX_AGE_SECONDS`]: ReturnType<typeof envInteger>;
} & { [K in `${P}_READ_ONLY`]: ReturnType<typeof envBoolean> };

/** The parsed SQL settings for prefix `P`. */
export type SqlSettings<P extends string> = z.output<z.ZodObject<SqlSettingsShape<P>>>;

/**
 * The SQL settings of an engine, to spread into its config schema; refine the schema with
 * {@link refineCredentialChoice}.
 *
 * @example
 * ```ts
 * export const PostgresConfig = z.object({ ...sqlSettings(POSTGRES, { statementTimeout: '...' }) })
 *   .superRefine(refineCredentialChoice('PG'));
 * ```
 */
export function sqlSettings<P extends string>(
  engine: EngineFacts & { prefix: P },
  descriptions: { statementTimeout: string; ssl?: string },
): SqlSettingsShape<P> {
  const p = engine.prefix;
  const url = `${engine.schemes[0]}://`;
  const schemes = new RegExp(`^(${engine.schemes.join('|')})://`);
  return {
    [`${p}_SECRET`]: z
      .string()
      .min(1)
      .optional()
      .describe(
        `Secrets Manager secret name or ARN holding the credentials ({ username, password, host, port, dbname }, the RDS shape); exactly one of ${p}_SECRET and ${p}_URL`,
      ),
    [`${p}_URL`]: z
      .string()
      .regex(schemes, `expected a ${url} URL`)
      .optional()
      .describe(
        `\`${url}user:password@host:port/db\`, for local and dev servers instead of ${p}_SECRET (exactly one of the two)`,
      ),
    [`${p}_HOST`]: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Overrides the secret's host, e.g. an RDS Proxy endpoint; required for RDS-managed secrets, which hold only username and password",
      ),
    [`${p}_PORT`]: z.coerce
      .number()
      .int()
      .min(1)
      .max(65_535)
      .optional()
      .describe("Overrides the secret's port"),
    [`${p}_DATABASE`]: z.string().min(1).optional().describe("Overrides the secret's dbname"),
    [`${p}_SSL`]: z
      .enum(['verify-full', 'disable'])
      .default('verify-full')
      .describe(
        descriptions.ssl ??
          '`verify-full`: TLS, certificate chain and host name verified; `disable`: plain TCP (local servers only). There is no `require` (TLS without verification): Circle Core never turns verification off',
      ),
    [`${p}_STATEMENT_TIMEOUT_MS`]: envInteger(15_000, { min: 100, max: 900_000 }).describe(
      descriptions.statementTimeout,
    ),
    [`${p}_CONNECT_TIMEOUT_MS`]: envInteger(5_000, { min: 100, max: 60_000 }).describe(
      "Connect timeout, also capped by the invocation's remaining time",
    ),
    [`${p}_READ_ONLY`]: envBoolean(false).describe(
      'Read-only mode: every call runs in a read-only transaction; writes fail with ForbiddenError (403)',
    ),
    [`${p}_MAX_ROWS`]: envInteger(10_000, { min: 1, max: 1_000_000 }).describe(
      'Rows returned per result at most',
    ),
    [`${p}_SECRET_MAX_AGE_SECONDS`]: envInteger(300, { min: 0, max: 86_400 }).describe(
      'How long the secret is cached in the container',
    ),
  } as SqlSettingsShape<P>;
}

/**
 * A `superRefine` that asks for exactly one credential source: `<P>_SECRET` or `<P>_URL`.
 *
 * @example
 * ```ts
 * z.object({ ...sqlSettings(MYSQL, descriptions) }).superRefine(refineCredentialChoice('MYSQL'));
 * ```
 */
export function refineCredentialChoice<P extends string>(prefix: P) {
  return (config: Record<string, unknown>, context: z.RefinementCtx): void => {
    const secret = config[`${prefix}_SECRET`];
    const url = config[`${prefix}_URL`];
    if (secret === undefined && url === undefined) {
      context.addIssue({
        code: 'custom',
        path: [`${prefix}_SECRET`],
        message: `set ${prefix}_SECRET (a Secrets Manager secret name) or ${prefix}_URL (local and dev only)`,
      });
    }
    if (secret !== undefined && url !== undefined) {
      context.addIssue({
        code: 'custom',
        path: [`${prefix}_URL`],
        message: `set either ${prefix}_SECRET or ${prefix}_URL, not both`,
      });
    }
  };
}

/**
 * The credentials an engine's settings name: its secret, else its URL, with the overrides applied.
 *
 * @example
 * ```ts
 * const credentials = credentialsFromSettings(loadConfig(PostgresConfig), POSTGRES);
 * ```
 */
export function credentialsFromSettings<P extends string>(
  settings: SqlSettings<P>,
  engine: EngineFacts & { prefix: P },
): DatabaseCredentials {
  const value = (name: string): unknown => (settings as Record<string, unknown>)[`${engine.prefix}_${name}`];
  return credentialsFrom(
    {
      secret: value('SECRET') as string | undefined,
      url: value('URL') as string | undefined,
      host: value('HOST') as string | undefined,
      port: value('PORT') as number | undefined,
      database: value('DATABASE') as string | undefined,
      secretMaxAgeSeconds: value('SECRET_MAX_AGE_SECONDS') as number,
    },
    engine,
  );
}
