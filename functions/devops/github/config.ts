/** The GitHub connector's settings: keys are environment variable names; secrets are named, never held. */
import { envInteger, eventSettings } from '@circle-core/core';
import * as z from 'zod';

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
  GITHUB_API_URL: z.url({ protocol: /^https?$/ }).default('https://api.github.com'),
  GITHUB_AUTH: z.enum(['token', 'app']).default('token'),
  GITHUB_TOKEN_SECRET: z.string().min(1).default('circle-core/github/token'),
  GITHUB_APP_SECRET: z.string().min(1).default('circle-core/github/app'),
  GITHUB_WEBHOOK_SECRET_SECRET: z.string().min(1).default('circle-core/github/webhook-secret'),
  GITHUB_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }),
  GITHUB_TIMEOUT_MS: envInteger(10_000, { min: 100, max: 900_000 }),
  GITHUB_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }),
  GITHUB_MAX_RETRY_AFTER_MS: envInteger(60_000, { min: 0, max: 900_000 }),
  /**
   * Receiving: GITHUB_STATE_TABLE (webhook delivery ids and sync checkpoints, `pk` string key, TTL on
   * `expiresAt`), GITHUB_EVENTS_QUEUE_URL / GITHUB_EVENTS_STATE_MACHINE_ARN, GITHUB_DELIVERY_TTL_DAYS.
   */
  ...eventSettings('GITHUB', { ttlDays: 7 }),
  /** Default repository of `sync-issues` when its input names none. */
  GITHUB_SYNC_OWNER: optionalText('Default owner for sync-issues'),
  GITHUB_SYNC_REPO: optionalText('Default repository for sync-issues'),
  /** How far back the first sync of a repository looks when no checkpoint exists yet. */
  GITHUB_SYNC_LOOKBACK_HOURS: envInteger(24, { min: 1, max: 87_600 }),
  /** Issues per page a sync run asks GitHub for (GitHub's maximum is 100). */
  GITHUB_SYNC_PAGE_SIZE: envInteger(100, { min: 1, max: 100 }),
  /** A run that needs more pages than this fails without moving the checkpoint (pass `since` to catch up). */
  GITHUB_SYNC_MAX_PAGES: envInteger(50, { min: 1, max: 1000 }),
});
export type GitHubConfig = z.output<typeof GitHubConfig>;
