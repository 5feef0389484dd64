/** The GitHub connector's settings: keys are environment variable names; secrets are named, never held. */
import { envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';
import { githubApi } from './client.ts';

const optionalText = (description: string) => z.string().min(1).optional().describe(description);

/**
 * The connector's environment. `GITHUB_AUTH` picks the credential kind: `token` reads
 * `GITHUB_TOKEN_SECRET` (a personal access or fine-grained token), `app` reads `GITHUB_APP_SECRET`
 * (`{ appId, privateKey, installationId }`) and exchanges an app JWT for installation tokens.
 *
 * @example
 * ```ts
 * const config = loadConfig(GitHubConfig); // { GITHUB_API_URL: 'https://api.github.com', GITHUB_AUTH: 'token', ... }
 * ```
 */
export const GitHubConfig = z.object({
  /** GITHUB_API_URL, GITHUB_TIMEOUT_MS, GITHUB_MAX_ATTEMPTS, GITHUB_MAX_RETRY_AFTER_MS, from the declaration. */
  ...githubApi.settings,
  GITHUB_AUTH: z
    .enum(['token', 'app'])
    .default('token')
    .describe('`token` reads GITHUB_TOKEN_SECRET; `app` reads GITHUB_APP_SECRET and exchanges an app JWT'),
  GITHUB_TOKEN_SECRET: z
    .string()
    .min(1)
    .default('circle-core/github/token')
    .describe('Secret name of the token (`GITHUB_AUTH=token`)'),
  GITHUB_APP_SECRET: z
    .string()
    .min(1)
    .default('circle-core/github/app')
    .describe(
      'Secret name of the app credentials `{ appId, privateKey, installationId }` (`GITHUB_AUTH=app`)',
    ),
  GITHUB_WEBHOOK_SECRET_SECRET: z
    .string()
    .min(1)
    .default('circle-core/github/webhook-secret')
    .describe('Secret name of the webhook secret'),
  GITHUB_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a secret value is cached per container',
  ),
  /**
   * Receiving: GITHUB_STATE_TABLE (webhook delivery ids and sync checkpoints, `pk` string key, TTL on
   * `expiresAt`), GITHUB_EVENTS_QUEUE_URL / GITHUB_EVENTS_STATE_MACHINE_ARN, GITHUB_DELIVERY_TTL_DAYS.
   */
  ...eventSettings('GITHUB', { ttlDays: 7 }),
  GITHUB_SYNC_OWNER: optionalText('Default owner of `sync-issues` when its input names none'),
  GITHUB_SYNC_REPO: optionalText('Default repository of `sync-issues` when its input names none'),
  GITHUB_SYNC_LOOKBACK_HOURS: envInteger(24, { min: 1, max: 87_600 }).describe(
    'How far back the first sync of a repository looks when no checkpoint exists yet',
  ),
  GITHUB_SYNC_PAGE_SIZE: envInteger(100, { min: 1, max: 100 }).describe(
    "Issues per page a sync run asks GitHub for (GitHub's maximum is 100)",
  ),
  GITHUB_SYNC_MAX_PAGES: envInteger(50, { min: 1, max: 1000 }).describe(
    'Pages one sync may read; a run that needs more fails without moving the checkpoint (pass `since`)',
  ),
});
export type GitHubConfig = z.output<typeof GitHubConfig>;
