import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import { snowflakeApi } from './client.ts';

const Identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$|^"[^"]{1,253}"$/, 'expected a Snowflake identifier')
  .optional()
  .or(z.literal('').transform(() => undefined));

/**
 * The Snowflake connector's settings. Keys are the environment variable names; the private key is named,
 * never held (its value lives in Secrets Manager).
 */
export const SnowflakeConfig = z.object({
  /** SNOWFLAKE_API_URL (https://<account>.snowflakecomputing.com), SNOWFLAKE_TIMEOUT_MS, _MAX_ATTEMPTS, ... */
  ...snowflakeApi.settings,
  SNOWFLAKE_ACCOUNT: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,255}$/, 'expected an account identifier such as MYORG-ANALYTICS')
    .describe('The account identifier the JWT names: ORGNAME-ACCOUNTNAME, or an account locator'),
  SNOWFLAKE_USER: z
    .string()
    .regex(/^[A-Za-z0-9_.@-]{1,255}$/, 'expected a Snowflake user name')
    .describe('The user whose RSA_PUBLIC_KEY matches the private key (a service user, TYPE = SERVICE)'),
  SNOWFLAKE_PRIVATE_KEY_SECRET: z
    .string()
    .min(1)
    .default('circle-core/snowflake/private-key')
    .describe("Name or ARN of the secret holding the user's private key, PKCS#8 PEM (unencrypted)"),
  SNOWFLAKE_WAREHOUSE: Identifier.describe('Warehouse of statements that name none; empty: the user default'),
  SNOWFLAKE_DATABASE: Identifier.describe('Database of statements that name none; empty: the user default'),
  SNOWFLAKE_SCHEMA: Identifier.describe('Schema of statements that name none; empty: the user default'),
  SNOWFLAKE_ROLE: Identifier.describe('Role of statements that name none; empty: the user default role'),
  SNOWFLAKE_QUERY_TIMEOUT_SECONDS: envInteger(3_600, { min: 0, max: 604_800 }).describe(
    "A statement that gives no timeoutSeconds is stopped by Snowflake after this long; 0 keeps the account's",
  ),
  SNOWFLAKE_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
});

/** The parsed settings. */
export type SnowflakeSettings = z.output<typeof SnowflakeConfig>;
