import { envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import { jiraApi } from './client.ts';

/**
 * The Jira connector's settings. Keys are the environment variable names; secrets are named, never held
 * (their values live in Secrets Manager).
 */
export const JiraConfig = z.object({
  /** JIRA_API_URL (your site, or api.atlassian.com/ex/jira/CLOUD_ID with OAuth), JIRA_TIMEOUT_MS, ... */
  ...jiraApi.settings,
  JIRA_AUTH: z
    .enum(['basic', 'oauth2'])
    .default('basic')
    .describe('basic: an Atlassian account email and API token; oauth2: OAuth 2.0 (3LO) refresh token'),
  JIRA_CREDENTIALS_SECRET: z
    .string()
    .min(1)
    .default('circle-core/jira/credentials')
    .describe(
      'Name or ARN of the secret: basic, JSON { "username": "<email>", "password": "<API token>" }; oauth2, JSON { "clientId", "clientSecret", "refreshToken" } (rotated tokens are written back)',
    ),
  JIRA_OAUTH_TOKEN_URL: z
    .url({ protocol: /^https?$/ })
    .default('https://auth.atlassian.com/oauth/token')
    .describe("Atlassian's token endpoint (oauth2 only)"),
  JIRA_SITE_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('The site people browse (https://acme.atlassian.net), for issue URLs; default JIRA_API_URL'),
  JIRA_DEFAULT_ISSUE_TYPE: z
    .string()
    .min(1)
    .default('Task')
    .describe('The issue type create-issue uses when none is given'),
  JIRA_WEBHOOK_SECRET_SECRET: z
    .string()
    .min(1)
    .default('circle-core/jira/webhook-secret')
    .describe('Name or ARN of the secret holding the webhook secret (verifies X-Hub-Signature)'),
  JIRA_WEBHOOK_MAX_AGE_SECONDS: envInteger(3600, { min: 60, max: 86_400 }).describe(
    'A delivery whose payload timestamp is older than this is refused as stale (ids are remembered longer)',
  ),
  JIRA_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  /** JIRA_STATE_TABLE (delivery ids), JIRA_EVENTS_QUEUE_URL / _STATE_MACHINE_ARN, JIRA_DELIVERY_TTL_DAYS. */
  ...eventSettings('JIRA', { ttlDays: 2 }),
});

/** The parsed settings. */
export type JiraSettings = z.output<typeof JiraConfig>;
