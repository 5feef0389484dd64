import { envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import { gitlabApi } from './client.ts';

/**
 * The GitLab connector's settings. Keys are the environment variable names; secrets are named, never held
 * (their values live in Secrets Manager).
 */
export const GitlabConfig = z.object({
  /** GITLAB_API_URL (gitlab.com or a self-managed instance's /api/v4), GITLAB_TIMEOUT_MS, _MAX_ATTEMPTS, ... */
  ...gitlabApi.settings,
  GITLAB_AUTH: z
    .enum(['token', 'oauth2'])
    .default('token')
    .describe(
      'token: a personal, project or group access token sent as PRIVATE-TOKEN; oauth2: an OAuth 2.0 application refresh token, access tokens sent as Bearer',
    ),
  GITLAB_TOKEN_SECRET: z
    .string()
    .min(1)
    .default('circle-core/gitlab/token')
    .describe(
      'Name or ARN of the secret: token, the access token as plain text; oauth2, JSON { "clientId", "clientSecret", "refreshToken" } (rotated tokens are written back)',
    ),
  GITLAB_OAUTH_TOKEN_URL: z
    .url({ protocol: /^https?$/ })
    .default('https://gitlab.com/oauth/token')
    .describe("GitLab's token endpoint (oauth2 only): https://<instance>/oauth/token"),
  GITLAB_WEBHOOK_SECRET_SECRET: z
    .string()
    .min(1)
    .default('circle-core/gitlab/webhook-secret')
    .describe(
      "Name or ARN of the secret holding the webhook's secret token (checked against X-Gitlab-Token)",
    ),
  GITLAB_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  /** GITLAB_STATE_TABLE (delivery ids), GITLAB_EVENTS_QUEUE_URL / _STATE_MACHINE_ARN, GITLAB_DELIVERY_TTL_DAYS. */
  ...eventSettings('GITLAB', { ttlDays: 7 }),
});

/** The parsed settings. */
export type GitlabSettings = z.output<typeof GitlabConfig>;
