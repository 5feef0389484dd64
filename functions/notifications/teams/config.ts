import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import { teamsApi } from './client.ts';

/**
 * The Microsoft Teams connector's settings. Keys are the environment variable names; secrets are named,
 * never held (their values live in Secrets Manager).
 */
export const TeamsConfig = z.object({
  /** TEAMS_API_URL (default https://graph.microsoft.com/v1.0), TEAMS_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS. */
  ...teamsApi.settings,
  TEAMS_LOGIN_URL: z
    .url({ protocol: /^https?$/ })
    .default('https://login.microsoftonline.com')
    .describe(
      'The Microsoft identity platform authority; tokens come from {it}/{tenant}/oauth2/v2.0/token (a contract fake locally)',
    ),
  TEAMS_TENANT_ID: z
    .string()
    .regex(/^[A-Za-z0-9.-]{0,100}$/)
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .describe('The directory (tenant) id or domain of the app registration; Graph calls need it'),
  TEAMS_TEAM_ID: z
    .string()
    .regex(/^(?:[0-9a-fA-F-]{36})?$/)
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .describe('The default team: a channel given without {team-id}/ is one of its channels'),
  TEAMS_CREDENTIALS_SECRET: z
    .string()
    .min(1)
    .default('circle-core/teams/credentials')
    .describe('Name or ARN of the secret holding JSON { clientId, clientSecret } of the app registration'),
  TEAMS_WEBHOOKS_SECRET: z
    .string()
    .min(1)
    .default('circle-core/teams/webhooks')
    .describe(
      'Name or ARN of the secret holding the Workflows webhook URL (plain text), or JSON { "<name>": "<url>" }',
    ),
  TEAMS_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
});

/** The parsed settings. */
export type TeamsSettings = z.output<typeof TeamsConfig>;
